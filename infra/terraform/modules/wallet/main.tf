# The technical wallet: a secp256k1 key that never leaves KMS (only buy_tokens and burn may
# Sign or read its public key), the exchange's API key and secret, and the buy-back kill
# switch (anything but "off" halts buy-backs and burns).

variable "name_prefix" {
  type = string
}

variable "account_id" {
  type = string
}

variable "partition" {
  type    = string
  default = "aws"
}

variable "signer_role_arns" {
  description = "the roles allowed to sign: buy_tokens' and burn's"
  type        = list(string)
}

variable "kms_key_arn" {
  description = "the platform data key, for the exchange secrets"
  type        = string
}

variable "key_administrator_arns" {
  description = "principals that administer (never use) the signing key; empty: the account root"
  type        = list(string)
  default     = []
}

locals {
  administrators = length(var.key_administrator_arns) > 0 ? var.key_administrator_arns : ["arn:${var.partition}:iam::${var.account_id}:root"]
}

data "aws_iam_policy_document" "signing" {
  #checkov:skip=CKV_AWS_109:a key policy: "*" is this key only; administrators may manage, never use, the key
  #checkov:skip=CKV_AWS_111:a key policy: "*" is this key only; Sign is granted to the two signer roles alone
  #checkov:skip=CKV_AWS_356:a key policy: "*" is this key only
  statement {
    sid = "AdministerNotUse"
    actions = [
      "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
      "kms:Revoke*", "kms:Disable*", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:Delete*", "kms:TagResource",
      "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
    ]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = local.administrators
    }
  }

  # The policy does not delegate to IAM (no kms:* for the account root), so no identity
  # policy in the account can grant Sign: these roles are the only signers.
  statement {
    sid       = "OnlyTheBuyBackAndBurnFunctionsSign"
    actions   = ["kms:Sign", "kms:GetPublicKey"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = var.signer_role_arns
    }
  }
}

resource "aws_kms_key" "signing" {
  #checkov:skip=CKV_AWS_7:asymmetric (ECC_SECG_P256K1) keys cannot be rotated by KMS; rotating means a new wallet address and moving funds, an operator's procedure
  description              = "${var.name_prefix}: technical wallet (secp256k1, sign only)"
  customer_master_key_spec = "ECC_SECG_P256K1"
  key_usage                = "SIGN_VERIFY"
  deletion_window_in_days  = 30
  policy                   = data.aws_iam_policy_document.signing.json
}

resource "aws_kms_alias" "signing" {
  name          = "alias/${var.name_prefix}-wallet"
  target_key_id = aws_kms_key.signing.key_id
}

# Values are set out of band (aws secretsmanager put-secret-value): exchange keys are made in
# the exchange's console, never in Terraform state.
resource "aws_secretsmanager_secret" "exchange" {
  #checkov:skip=CKV2_AWS_57:exchange API keys are issued in the exchange's console; no AWS rotation function can mint them, operators rotate them by hand
  for_each                = toset(["api-key", "api-secret"])
  name                    = "${var.name_prefix}/exchange/${each.key}"
  description             = "Exchange (ccxt) ${each.key} for the CEX buy-back route"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 7
}

resource "aws_ssm_parameter" "kill_switch" {
  #checkov:skip=CKV2_AWS_34:the kill switch is not a secret ("off" or a reason), and it must stay readable (String, no KMS call) for buy_tokens and burn to halt safely
  name        = "/${var.name_prefix}/buybacks/kill-switch"
  description = "Buy-back kill switch: anything but 'off' halts buy-backs and burns"
  type        = "String"
  value       = "off"

  lifecycle {
    # Operators flip it in an incident; an apply must not switch buy-backs back on.
    ignore_changes = [value]
  }
}

output "signing_key_arn" {
  value = aws_kms_key.signing.arn
}

output "signing_key_id" {
  value = aws_kms_key.signing.key_id
}

output "exchange_secret_arns" {
  value = { for k, s in aws_secretsmanager_secret.exchange : k => s.arn }
}

output "kill_switch_parameter_name" {
  value = aws_ssm_parameter.kill_switch.name
}

output "kill_switch_parameter_arn" {
  value = aws_ssm_parameter.kill_switch.arn
}
