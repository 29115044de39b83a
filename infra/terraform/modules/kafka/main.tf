# MSK Serverless with IAM authentication (TLS, port 9098). Topics are created by the app
# (ember.rounds, ember.commission, ember.buybacks, ember.burns, ember.dlq.<consumer>).

variable "name_prefix" {
  type = string
}

variable "subnet_ids" {
  type = list(string)
}

variable "security_group_id" {
  type = string
}

resource "aws_msk_serverless_cluster" "this" {
  cluster_name = var.name_prefix

  client_authentication {
    sasl {
      iam {
        enabled = true
      }
    }
  }

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = [var.security_group_id]
  }
}

output "cluster_arn" {
  value = aws_msk_serverless_cluster.this.arn
}

output "cluster_name" {
  value = aws_msk_serverless_cluster.this.cluster_name
}

output "bootstrap_servers" {
  value = aws_msk_serverless_cluster.this.bootstrap_brokers_sasl_iam
}

# IAM resource prefixes for kafka-cluster:* actions: <prefix>/<topic or group name>.
output "topic_arn_prefix" {
  value = replace(aws_msk_serverless_cluster.this.arn, ":cluster/", ":topic/")
}

output "group_arn_prefix" {
  value = replace(aws_msk_serverless_cluster.this.arn, ":cluster/", ":group/")
}
