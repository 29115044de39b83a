output "vpc_id" {
  value = aws_vpc.this.id
}

output "private_subnet_ids" {
  value = aws_subnet.private[*].id
}

output "security_group_ids" {
  value = {
    lambda   = aws_security_group.lambda.id
    db_proxy = aws_security_group.db_proxy.id
    db       = aws_security_group.db.id
    cache    = aws_security_group.cache.id
    kafka    = aws_security_group.kafka.id
  }
}
