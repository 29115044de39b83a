# ElastiCache Redis: TLS in transit, encrypted at rest, an AUTH token generated here and kept
# in Secrets Manager (the functions read it from there; it is not in their environment).
# Only what can be lost lives in Redis: rate-limit buckets and cached round views.

variable "name_prefix" {
  type = string
}

variable "subnet_ids" {
  type = list(string)
}

variable "security_group_id" {
  type = string
}

variable "kms_key_arn" {
  type = string
}

variable "node_type" {
  type    = string
  default = "cache.t4g.small"
}

variable "replicas" {
  description = "cache nodes (primary + replicas), spread over the AZs with automatic failover"
  type        = number
  default     = 2
  validation {
    condition     = var.replicas >= 2
    error_message = "at least 2 nodes: automatic failover needs a replica"
  }
}

variable "engine_version" {
  type    = string
  default = "7.1"
}

variable "log_retention_days" {
  type    = number
  default = 365
}

# The token is made once, at the first apply, from two random UUIDs (244 random bits), and
# kept: ignore_changes stops uuid() from rolling it at every plan. Rotate by replacing this
# resource (terraform apply -replace=...), which ElastiCache applies with ROTATE.
resource "terraform_data" "auth_token" {
  input = "${replace(uuid(), "-", "")}${replace(uuid(), "-", "")}"
  lifecycle {
    ignore_changes = [input]
  }
}

resource "aws_secretsmanager_secret" "auth_token" {
  #checkov:skip=CKV2_AWS_57:rotated by replacing terraform_data.auth_token, which updates ElastiCache (ROTATE strategy) and this secret in one apply; a rotation Lambda would change the token behind ElastiCache's back
  name                    = "${var.name_prefix}/redis/auth-token"
  description             = "AUTH token of the ${var.name_prefix} Redis replication group"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "auth_token" {
  secret_id     = aws_secretsmanager_secret.auth_token.id
  secret_string = terraform_data.auth_token.output
}

resource "aws_elasticache_subnet_group" "this" {
  name       = var.name_prefix
  subnet_ids = var.subnet_ids
}

resource "aws_cloudwatch_log_group" "slow" {
  name              = "/ember/${var.name_prefix}/redis-slow-log"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_elasticache_replication_group" "this" {
  replication_group_id = var.name_prefix
  description          = "Ember cache: rate limits and round views"
  engine               = "redis"
  engine_version       = var.engine_version
  node_type            = var.node_type
  port                 = 6379
  num_cache_clusters   = var.replicas

  automatic_failover_enabled = true
  multi_az_enabled           = true
  subnet_group_name          = aws_elasticache_subnet_group.this.name
  security_group_ids         = [var.security_group_id]

  at_rest_encryption_enabled = true
  kms_key_id                 = var.kms_key_arn
  transit_encryption_enabled = true
  transit_encryption_mode    = "required"
  auth_token                 = terraform_data.auth_token.output
  auth_token_update_strategy = "ROTATE"

  auto_minor_version_upgrade = true
  snapshot_retention_limit   = 1
  apply_immediately          = false

  log_delivery_configuration {
    destination      = aws_cloudwatch_log_group.slow.name
    destination_type = "cloudwatch-logs"
    log_format       = "json"
    log_type         = "slow-log"
  }
}

output "redis_url" {
  # No credentials: the token is read from auth_secret_arn.
  value = "rediss://${aws_elasticache_replication_group.this.primary_endpoint_address}:6379/0"
}

output "auth_secret_arn" {
  value = aws_secretsmanager_secret.auth_token.arn
}

output "replication_group_id" {
  value = aws_elasticache_replication_group.this.id
}
