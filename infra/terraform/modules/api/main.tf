# API Gateway REST API in front of the Chalice app (hand-written, not `chalice package`):
# a Lambda proxy integration, a Cognito user pool with groups player / operator / finance
# and a COGNITO_USER_POOLS authorizer on every non-public route. The app (EMBER_AUTH_MODE=
# authorizer) reads the verified claims; its public routes (health, openapi.json, markets,
# rounds, verify) and the PSP's HMAC-signed deposit webhook stay open.

variable "name_prefix" {
  type = string
}

variable "lambda_invoke_arn" {
  type = string
}

variable "lambda_function_name" {
  type = string
}

variable "access_log_group_arn" {
  type = string
}

variable "kms_key_arn" {
  description = "encrypts the WAF log group"
  type        = string
}

variable "log_retention_days" {
  type    = number
  default = 365
}

variable "cognito" {
  description = "create the user pool and authorize with it (LocalStack community has no Cognito)"
  type        = bool
  default     = true
}

variable "waf" {
  description = "attach a WAFv2 web ACL (AWS managed rules + a per-IP rate limit)"
  type        = bool
  default     = true
}

variable "waf_rate_limit" {
  description = "requests per 5 minutes per IP"
  type        = number
  default     = 2000
}

variable "manage_account_logging_role" {
  description = "set API Gateway's account-wide CloudWatch role (once per account and region)"
  type        = bool
  default     = true
}

variable "throttle_rate" {
  type    = number
  default = 500
}

variable "throttle_burst" {
  type    = number
  default = 1000
}

# ---- Cognito -----------------------------------------------------------------------------

resource "aws_cognito_user_pool" "this" {
  count                    = var.cognito ? 1 : 0
  name                     = var.name_prefix
  username_attributes      = ["email"]
  auto_verified_attributes = ["email"]
  deletion_protection      = "ACTIVE"
  mfa_configuration        = "OPTIONAL"

  software_token_mfa_configuration {
    enabled = true
  }

  password_policy {
    minimum_length                   = 12
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = false
    temporary_password_validity_days = 3
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }

  user_pool_add_ons {
    advanced_security_mode = "ENFORCED"
  }
}

resource "aws_cognito_user_pool_client" "this" {
  count                                = var.cognito ? 1 : 0
  name                                 = "${var.name_prefix}-app"
  user_pool_id                         = aws_cognito_user_pool.this[0].id
  generate_secret                      = false
  explicit_auth_flows                  = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
  prevent_user_existence_errors        = "ENABLED"
  enable_token_revocation              = true
  access_token_validity                = 60
  id_token_validity                    = 60
  refresh_token_validity               = 30
  allowed_oauth_flows_user_pool_client = false

  token_validity_units {
    access_token  = "minutes"
    id_token      = "minutes"
    refresh_token = "days"
  }
}

resource "aws_cognito_user_group" "this" {
  for_each     = var.cognito ? toset(["player", "operator", "finance"]) : toset([])
  name         = each.key
  user_pool_id = aws_cognito_user_pool.this[0].id
  description  = "Ember ${each.key}s (the app reads cognito:groups)"
}

# ---- REST API ----------------------------------------------------------------------------

resource "aws_api_gateway_rest_api" "this" {
  lifecycle {
    create_before_destroy = true
  }
  name        = var.name_prefix
  description = "Ember players', operators' and finance API (Chalice app)"
  endpoint_configuration {
    types = ["REGIONAL"]
  }
}

resource "aws_api_gateway_authorizer" "cognito" {
  count           = var.cognito ? 1 : 0
  name            = "cognito"
  rest_api_id     = aws_api_gateway_rest_api.this.id
  type            = "COGNITO_USER_POOLS"
  provider_arns   = [aws_cognito_user_pool.this[0].arn]
  identity_source = "method.request.header.Authorization"
}

resource "aws_api_gateway_resource" "v1" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = "v1"
}

resource "aws_api_gateway_resource" "v1_proxy" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.v1.id
  path_part   = "{proxy+}"
}

resource "aws_api_gateway_resource" "public" {
  for_each    = toset(["health", "openapi.json", "markets", "rounds", "deposits"])
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.v1.id
  path_part   = each.key
}

resource "aws_api_gateway_resource" "round" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.public["rounds"].id
  path_part   = "{round_id}"
}

resource "aws_api_gateway_resource" "round_verify" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.round.id
  path_part   = "verify"
}

# /v1/rounds/{round_id}/bets and anything else under a round: players only.
resource "aws_api_gateway_resource" "round_proxy" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.round.id
  path_part   = "{proxy+}"
}

locals {
  # key => [resource id, HTTP method, public]
  methods = {
    v1_any        = [aws_api_gateway_resource.v1_proxy.id, "ANY", false]
    round_any     = [aws_api_gateway_resource.round_proxy.id, "ANY", false]
    health_get    = [aws_api_gateway_resource.public["health"].id, "GET", true]
    openapi_get   = [aws_api_gateway_resource.public["openapi.json"].id, "GET", true]
    markets_get   = [aws_api_gateway_resource.public["markets"].id, "GET", true]
    rounds_get    = [aws_api_gateway_resource.public["rounds"].id, "GET", true]
    round_get     = [aws_api_gateway_resource.round.id, "GET", true]
    verify_get    = [aws_api_gateway_resource.round_verify.id, "GET", true]
    deposits_post = [aws_api_gateway_resource.public["deposits"].id, "POST", true]
  }
}

# Parameters are validated at the gateway; bodies by the app (problem+json 400/415/422).
resource "aws_api_gateway_request_validator" "params" {
  name                        = "parameters"
  rest_api_id                 = aws_api_gateway_rest_api.this.id
  validate_request_parameters = true
  validate_request_body       = false
}

resource "aws_api_gateway_method" "this" {
  #checkov:skip=CKV_AWS_59:public by design only where local.methods marks it (health, openapi, markets, rounds, verify: read-only public data; deposits: the PSP webhook, HMAC-signed and checked by the app); every other route uses the Cognito authorizer, or on LocalStack (no Cognito) the app verifies the JWT itself (EMBER_AUTH_MODE=jwks)
  for_each      = local.methods
  rest_api_id   = aws_api_gateway_rest_api.this.id
  resource_id   = each.value[0]
  http_method   = each.value[1]
  authorization = each.value[2] || !var.cognito ? "NONE" : "COGNITO_USER_POOLS"
  authorizer_id = each.value[2] || !var.cognito ? null : aws_api_gateway_authorizer.cognito[0].id

  request_validator_id = aws_api_gateway_request_validator.params.id
}

resource "aws_api_gateway_integration" "this" {
  for_each                = local.methods
  rest_api_id             = aws_api_gateway_rest_api.this.id
  resource_id             = each.value[0]
  http_method             = aws_api_gateway_method.this[each.key].http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = var.lambda_invoke_arn
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowApiGateway"
  action        = "lambda:InvokeFunction"
  function_name = var.lambda_function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.this.execution_arn}/*/*"
}

resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  triggers = {
    redeploy = sha1(jsonencode([local.methods, var.cognito, var.lambda_invoke_arn]))
  }
  lifecycle {
    create_before_destroy = true
  }
  depends_on = [aws_api_gateway_integration.this]
}

# ---- stage, logs, throttling, WAF --------------------------------------------------------

data "aws_iam_policy_document" "apigw_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["apigateway.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cloudwatch" {
  count              = var.manage_account_logging_role ? 1 : 0
  name               = "${var.name_prefix}-apigateway-logs"
  assume_role_policy = data.aws_iam_policy_document.apigw_assume.json
}

resource "aws_iam_role_policy_attachment" "cloudwatch" {
  count      = var.manage_account_logging_role ? 1 : 0
  role       = aws_iam_role.cloudwatch[0].name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

resource "aws_api_gateway_account" "this" {
  count               = var.manage_account_logging_role ? 1 : 0
  cloudwatch_role_arn = aws_iam_role.cloudwatch[0].arn
}

resource "aws_api_gateway_stage" "this" {
  #checkov:skip=CKV_AWS_120:responses carry live odds and per-player state; a gateway cache would serve stale or another player's data
  #checkov:skip=CKV2_AWS_51:players' browsers and apps call the API directly; mutual TLS client certificates do not apply
  #checkov:skip=CKV2_AWS_29:the WAFv2 web ACL is attached by aws_wafv2_web_acl_association.this when var.waf (the aws env); only LocalStack, which has no WAFv2, runs without it
  rest_api_id          = aws_api_gateway_rest_api.this.id
  deployment_id        = aws_api_gateway_deployment.this.id
  stage_name           = "v1"
  xray_tracing_enabled = true

  access_log_settings {
    destination_arn = var.access_log_group_arn
    format = jsonencode({
      requestId      = "$context.requestId"
      ip             = "$context.identity.sourceIp"
      requestTime    = "$context.requestTime"
      httpMethod     = "$context.httpMethod"
      resourcePath   = "$context.resourcePath"
      path           = "$context.path"
      status         = "$context.status"
      protocol       = "$context.protocol"
      responseLength = "$context.responseLength"
      latencyMs      = "$context.responseLatency"
      integrationMs  = "$context.integrationLatency"
      user           = "$context.authorizer.claims.sub"
      error          = "$context.error.message"
    })
  }

  depends_on = [aws_api_gateway_account.this]
}

resource "aws_api_gateway_method_settings" "all" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = "*/*"

  settings {
    #checkov:skip=CKV_AWS_225:see the stage: caching live, per-player responses is wrong
    metrics_enabled        = true
    logging_level          = "INFO"
    data_trace_enabled     = false
    caching_enabled        = false
    cache_data_encrypted   = true
    throttling_rate_limit  = var.throttle_rate
    throttling_burst_limit = var.throttle_burst
  }
}

resource "aws_wafv2_web_acl" "this" {
  count       = var.waf ? 1 : 0
  name        = var.name_prefix
  description = "Ember API: AWS managed rules and a per-IP rate limit"
  scope       = "REGIONAL"

  default_action {
    allow {}
  }

  rule {
    name     = "aws-common"
    priority = 1
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesCommonRuleSet"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "aws-common"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-known-bad-inputs"
    priority = 2
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "aws-known-bad-inputs"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-anonymous-ip"
    priority = 3
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesAnonymousIpList"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "aws-anonymous-ip"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "per-ip-rate"
    priority = 4
    action {
      block {}
    }
    statement {
      rate_based_statement {
        limit              = var.waf_rate_limit
        aggregate_key_type = "IP"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "per-ip-rate"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = var.name_prefix
    sampled_requests_enabled   = true
  }
}

# WAF requires the log group's name to start with aws-waf-logs-.
resource "aws_cloudwatch_log_group" "waf" {
  count             = var.waf ? 1 : 0
  name              = "aws-waf-logs-${var.name_prefix}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_wafv2_web_acl_logging_configuration" "this" {
  count                   = var.waf ? 1 : 0
  resource_arn            = aws_wafv2_web_acl.this[0].arn
  log_destination_configs = [aws_cloudwatch_log_group.waf[0].arn]

  redacted_fields {
    single_header {
      name = "authorization"
    }
  }
}

resource "aws_wafv2_web_acl_association" "this" {
  count        = var.waf ? 1 : 0
  resource_arn = aws_api_gateway_stage.this.arn
  web_acl_arn  = aws_wafv2_web_acl.this[0].arn
}

output "invoke_url" {
  value = aws_api_gateway_stage.this.invoke_url
}

output "rest_api_id" {
  value = aws_api_gateway_rest_api.this.id
}

output "user_pool_id" {
  value = var.cognito ? aws_cognito_user_pool.this[0].id : null
}

output "user_pool_client_id" {
  value = var.cognito ? aws_cognito_user_pool_client.this[0].id : null
}

output "jwt_issuer" {
  value = var.cognito ? "https://${aws_cognito_user_pool.this[0].endpoint}" : null
}
