terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Remote state, an example: uncomment and fill in, then `terraform init`.
  # backend "s3" {
  #   bucket         = "acme-terraform-state"
  #   key            = "ember/prod/terraform.tfstate"
  #   region         = "eu-west-1"
  #   dynamodb_table = "terraform-locks"
  #   encrypt        = true
  # }
}

provider "aws" {
  region = var.region

  # CI plans with dummy credentials (make infra-check): these skip the calls that would need
  # a real account. Leave them false for a real plan or apply.
  skip_credentials_validation = var.offline_plan
  skip_requesting_account_id  = var.offline_plan
  skip_metadata_api_check     = var.offline_plan
  skip_region_validation      = var.offline_plan

  default_tags {
    tags = merge({ project = "ember", environment = var.environment }, var.tags)
  }
}
