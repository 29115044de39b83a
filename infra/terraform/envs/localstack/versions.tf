terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}

# LocalStack: every endpoint at var.endpoint (http://localhost:4566), test credentials, no
# account or region checks. `tflocal` works too: it overrides this block with the same.
provider "aws" {
  region     = var.region
  access_key = "test"
  secret_key = "test"

  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true

  endpoints {
    apigateway     = var.endpoint
    cloudwatch     = var.endpoint
    cloudwatchlogs = var.endpoint
    cognitoidp     = var.endpoint
    ec2            = var.endpoint
    elasticache    = var.endpoint
    events         = var.endpoint
    iam            = var.endpoint
    kafka          = var.endpoint
    kms            = var.endpoint
    lambda         = var.endpoint
    rds            = var.endpoint
    s3             = var.endpoint
    secretsmanager = var.endpoint
    sns            = var.endpoint
    sqs            = var.endpoint
    ssm            = var.endpoint
    sts            = var.endpoint
    wafv2          = var.endpoint
  }

  default_tags {
    tags = { project = "ember", environment = "localstack" }
  }
}
