variable "name_prefix" {
  type = string
}

variable "region" {
  type = string
}

variable "kms_key_arn" {
  type = string
}

variable "function_names" {
  type = map(string)
}

variable "log_retention_days" {
  type    = number
  default = 365
}

# ---- alarms (set after the functions exist; names are known before) ----------------------

variable "dead_letter_queue_names" {
  type = map(string)
}

variable "consumers" {
  description = "functions fed by MSK triggers: consumer lag alarms"
  type        = list(string)
  default     = ["buy_tokens", "burn"]
}

variable "consumer_lag_threshold" {
  description = "records behind (the trigger's OffsetLag) before the alarm"
  type        = number
  default     = 1000
}

variable "function_error_threshold" {
  type    = number
  default = 1
}

variable "wallet_gas_low_wei" {
  description = "alarm when the technical wallet's native balance (Ember/WalletGasBalanceWei) drops below this"
  type        = number
  default     = 50000000000000000
}

variable "alarm_emails" {
  type    = list(string)
  default = []
}

variable "metric_namespace" {
  description = "the app's EMF namespace and service dimension (ember.runtime.metrics)"
  type        = string
  default     = "Ember"
}

variable "metric_service" {
  type    = string
  default = "ember"
}

