output "proxy_endpoint" {
  value = aws_db_proxy.this.endpoint
}

output "database_name" {
  value = var.database_name
}

output "username" {
  value = var.master_username
}

# The DATABASE_URL the functions get: no password, the IAM token is it (RDS Proxy, iam_auth
# REQUIRED, TLS).
output "database_url" {
  value = "postgresql://${var.master_username}@${aws_db_proxy.this.endpoint}:5432/${var.database_name}?sslmode=require"
}

# rds-db:connect resource for the functions' roles.
output "connect_arn" {
  value = "${replace(replace(aws_db_proxy.this.arn, ":rds:", ":rds-db:"), ":db-proxy:", ":dbuser:")}/${var.master_username}"
}

output "credentials_secret_arn" {
  value = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "instance_identifier" {
  value = aws_db_instance.this.identifier
}
