variable "name_prefix" {
  type = string
}

variable "region" {
  type = string
}

variable "cidr_block" {
  type    = string
  default = "10.40.0.0/16"
}

# Two AZs, given rather than looked up so that a plan needs no AWS call.
variable "availability_zones" {
  type = list(string)
  validation {
    condition     = length(var.availability_zones) >= 2
    error_message = "at least two availability zones"
  }
}

# Lambdas reach the chain's JSON-RPC node and the exchange on the internet through NAT.
variable "nat_gateways" {
  description = "0 (no internet egress), 1 (shared), or one per AZ"
  type        = number
  default     = 1
}

variable "interface_endpoints" {
  description = "AWS services reached through interface endpoints (S3 has a gateway endpoint)"
  type        = list(string)
  default     = ["secretsmanager", "kms", "ssm", "logs", "sts", "lambda", "sqs", "monitoring"]
}

variable "flow_log_retention_days" {
  type    = number
  default = 365
}

variable "kms_key_arn" {
  type = string
}
