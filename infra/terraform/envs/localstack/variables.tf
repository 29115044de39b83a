variable "endpoint" {
  type    = string
  default = "http://localhost:4566"
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "account_id" {
  description = "LocalStack's default account"
  type        = string
  default     = "000000000000"
}

variable "availability_zones" {
  type    = list(string)
  default = ["us-east-1a", "us-east-1b"]
}

variable "dist_dir" {
  description = "where `make package` wrote functions/<name>.zip and layers/<name>.zip"
  type        = string
  default     = "../../../../dist"
}

# ---- services LocalStack community does not have: the app uses the host's instead ---------
# RDS, ElastiCache, MSK, Cognito and WAFv2 are LocalStack Pro features. The functions reach
# PostgreSQL, Redis and Kafka given here (e.g. what `ember up` started), and the API checks
# JWTs itself (EMBER_AUTH_MODE=jwks or hs256).

variable "database_url" {
  type    = string
  default = "postgresql://postgres@host.docker.internal:5432/ember"
}

variable "redis_url" {
  type    = string
  default = "redis://host.docker.internal:6379/0"
}

variable "kafka_bootstrap_servers" {
  type    = string
  default = "host.docker.internal:9092"
}

variable "chain_rpc_url" {
  type    = string
  default = "http://host.docker.internal:8545"
}

variable "auth_environment" {
  description = "how the API verifies tokens without Cognito"
  type        = map(string)
  default = {
    EMBER_AUTH_MODE    = "hs256"
    EMBER_JWT_ISSUER   = "ember-local"
    EMBER_JWT_AUDIENCE = "ember"
  }
}

variable "app_environment" {
  type    = map(string)
  default = {}
}
