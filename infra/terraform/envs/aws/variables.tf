variable "region" {
  type    = string
  default = "eu-west-1"
}

variable "environment" {
  description = "prod, staging, ...: part of every name"
  type        = string
  default     = "prod"
}

variable "account_id" {
  description = "the AWS account (given, not looked up, so a plan needs no AWS call)"
  type        = string
}

variable "availability_zones" {
  type    = list(string)
  default = ["eu-west-1a", "eu-west-1b"]
}

variable "offline_plan" {
  description = "plan without an AWS account (CI): skip credential, account and region checks"
  type        = bool
  default     = false
}

variable "tags" {
  type    = map(string)
  default = {}
}

# ---- artifacts of `make package` ---------------------------------------------------------

variable "dist_dir" {
  description = "where `make package` wrote functions/<name>.zip and layers/<name>.zip"
  type        = string
  default     = "../../../../dist"
}

variable "function_zips" {
  description = "override per function; default <dist_dir>/functions/<name>.zip"
  type        = map(string)
  default     = {}
}

variable "layer_zips" {
  description = "override per layer (ember, base, chain); default <dist_dir>/layers/<name>.zip"
  type        = map(string)
  default     = {}
}

# ---- sizing ------------------------------------------------------------------------------

variable "nat_gateways" {
  type    = number
  default = 2
}

variable "db_instance_class" {
  type    = string
  default = "db.t4g.medium"
}

variable "db_multi_az" {
  type    = bool
  default = true
}

variable "cache_node_type" {
  type    = string
  default = "cache.t4g.small"
}

variable "log_retention_days" {
  type    = number
  default = 365
}

variable "alarm_emails" {
  type    = list(string)
  default = []
}

# ---- the app's settings (layers/ember/ember/runtime/settings.py) -------------------------

variable "chain_rpc_url" {
  description = "JSON-RPC node of the chain (CHAIN_RPC_URL)"
  type        = string
}

variable "log_level" {
  type    = string
  default = "INFO"
}

variable "cex_exchange" {
  description = "EMBER_CEX_EXCHANGE: null disables the CEX route"
  type        = string
  default     = null
}

variable "app_environment" {
  description = "more settings for every function (EMBER_BUYBACK_*, EMBER_REFERENCE_PRICE, ...)"
  type        = map(string)
  default     = {}
}
