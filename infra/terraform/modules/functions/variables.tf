variable "function_names" {
  description = "deployed name of each function: api, round_keeper, outbox_relay, buy_tokens, burn, burn_report"
  type        = map(string)
}

variable "name_prefix" {
  type = string
}

variable "function_zips" {
  description = "`make package` output per function, e.g. dist/functions/api.zip"
  type        = map(string)
}

variable "layer_zips" {
  description = "`make package` output per layer: ember (the library), base (core deps), chain (web3 + ccxt)"
  type = object({
    ember = string
    base  = string
    chain = string
  })
}

variable "architecture" {
  description = "must match the platform the layers' wheels were built for"
  type        = string
  default     = "x86_64"
}

variable "environment" {
  description = "environment of every function (settings.py variables)"
  type        = map(string)
  default     = {}
}

variable "function_environment" {
  description = "extra environment per function"
  type        = map(map(string))
  default     = {}
}

variable "subnet_ids" {
  type = list(string)
}

variable "security_group_ids" {
  type = list(string)
}

variable "kms_key_arn" {
  description = "encrypts the environment and the dead-letter queues"
  type        = string
}

variable "log_group_names" {
  description = "per function, made by modules/observability"
  type        = map(string)
}

variable "log_group_arns" {
  type = map(string)
}

variable "reserved_concurrency" {
  type = map(number)
  default = {
    api          = 200
    round_keeper = 1
    outbox_relay = 1
    buy_tokens   = 2
    burn         = 2
    burn_report  = 1
  }
}

variable "schedules" {
  description = "EventBridge schedule per scheduled function"
  type        = map(string)
  default = {
    round_keeper = "rate(1 minute)"
    outbox_relay = "rate(1 minute)"
    burn_report  = "cron(15 0 * * ? *)"
    # buy_tokens also runs after every commission.accrued batch; the schedule buys a pool that
    # no settled round has topped up for the policy's max delay.
    buy_tokens = "rate(5 minutes)"
  }
}

# ---- what the functions may touch ---------------------------------------------------------
# Flags rather than null checks: the ARNs are unknown until apply, the flags are known at plan.

variable "features" {
  description = "which backing services exist (each grants its permissions)"
  type = object({
    database = bool
    redis    = bool
    kafka    = bool
    wallet   = bool
    reports  = bool
  })
}

variable "database_connect_arn" {
  description = "rds-db:connect resource (RDS Proxy user)"
  type        = string
  default     = null
}

variable "redis_auth_secret_arn" {
  type    = string
  default = null
}

variable "kafka_cluster_arn" {
  type    = string
  default = null
}

variable "kafka_topic_arn_prefix" {
  type    = string
  default = null
}

variable "kafka_group_arn_prefix" {
  type    = string
  default = null
}

variable "wallet_key_arn" {
  type    = string
  default = null
}

variable "exchange_secret_arns" {
  type    = list(string)
  default = []
}

variable "kill_switch_parameter_arn" {
  type    = string
  default = null
}

variable "reports_bucket_arn" {
  type    = string
  default = null
}

# ---- the MSK triggers ----------------------------------------------------------------------

variable "kafka_triggers" {
  description = "create the MSK event source mappings of buy_tokens and burn"
  type        = bool
  default     = true
}

variable "consumer_group_ids" {
  description = "Kafka consumer group per consumer; the same names `ember consumers` uses locally"
  type        = map(string)
  default = {
    buy_tokens = "buy_tokens"
    burn       = "burn"
  }
}

variable "consumer_batch_size" {
  type    = number
  default = 100
}

variable "consumer_max_retries" {
  description = "retries of a failing batch before it goes to the on-failure destination (finite)"
  type        = number
  default     = 2
  validation {
    condition     = var.consumer_max_retries >= 0 && var.consumer_max_retries <= 10000
    error_message = "0..10000: retries must be finite"
  }
}

variable "consumer_max_record_age_s" {
  type    = number
  default = 86400
}

variable "consumer_max_pollers" {
  type    = number
  default = 2
}
