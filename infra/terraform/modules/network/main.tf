locals {
  azs = slice(var.availability_zones, 0, 2)
}

resource "aws_vpc" "this" {
  cidr_block           = var.cidr_block
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = { Name = var.name_prefix }
}

# No rule: nothing may use the default security group.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id
}

resource "aws_subnet" "private" {
  count             = length(local.azs)
  vpc_id            = aws_vpc.this.id
  availability_zone = local.azs[count.index]
  cidr_block        = cidrsubnet(var.cidr_block, 4, count.index)
  tags              = { Name = "${var.name_prefix}-private-${local.azs[count.index]}", tier = "private" }
}

resource "aws_subnet" "public" {
  count                   = var.nat_gateways > 0 ? length(local.azs) : 0
  vpc_id                  = aws_vpc.this.id
  availability_zone       = local.azs[count.index]
  cidr_block              = cidrsubnet(var.cidr_block, 8, 200 + count.index)
  map_public_ip_on_launch = false
  tags                    = { Name = "${var.name_prefix}-public-${local.azs[count.index]}", tier = "public" }
}

resource "aws_internet_gateway" "this" {
  count  = var.nat_gateways > 0 ? 1 : 0
  vpc_id = aws_vpc.this.id
}

resource "aws_route_table" "public" {
  count  = var.nat_gateways > 0 ? 1 : 0
  vpc_id = aws_vpc.this.id
  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.this[0].id
  }
}

resource "aws_route_table_association" "public" {
  count          = length(aws_subnet.public)
  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public[0].id
}

resource "aws_eip" "nat" {
  count  = var.nat_gateways
  domain = "vpc"
}

resource "aws_nat_gateway" "this" {
  count         = var.nat_gateways
  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id
  depends_on    = [aws_internet_gateway.this]
}

resource "aws_route_table" "private" {
  count  = length(local.azs)
  vpc_id = aws_vpc.this.id
  tags   = { Name = "${var.name_prefix}-private-${local.azs[count.index]}" }
}

resource "aws_route" "private_nat" {
  #checkov:skip=CKV2_AWS_35:the default route goes to a NAT gateway (nat_gateway_id); the check reads instance_id, which is only unknown-until-apply in the plan, as set
  count                  = var.nat_gateways > 0 ? length(local.azs) : 0
  route_table_id         = aws_route_table.private[count.index].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[min(count.index, var.nat_gateways - 1)].id
}

resource "aws_route_table_association" "private" {
  count          = length(local.azs)
  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

# ---- flow logs ---------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "flow" {
  name              = "/ember/${var.name_prefix}/vpc-flow"
  retention_in_days = var.flow_log_retention_days
  kms_key_id        = var.kms_key_arn
}

data "aws_iam_policy_document" "flow_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "flow" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.flow.arn}:*"]
  }
}

resource "aws_iam_role" "flow" {
  name               = "${var.name_prefix}-vpc-flow"
  assume_role_policy = data.aws_iam_policy_document.flow_assume.json
}

resource "aws_iam_role_policy" "flow" {
  name   = "write-flow-logs"
  role   = aws_iam_role.flow.id
  policy = data.aws_iam_policy_document.flow.json
}

resource "aws_flow_log" "this" {
  vpc_id          = aws_vpc.this.id
  traffic_type    = "ALL"
  log_destination = aws_cloudwatch_log_group.flow.arn
  iam_role_arn    = aws_iam_role.flow.arn
}

# ---- security groups ---------------------------------------------------------------------

resource "aws_security_group" "lambda" {
  #checkov:skip=CKV2_AWS_5:attached in modules/functions (vpc_config of every function) through this module's output; the plan graph does not follow references across modules
  name        = "${var.name_prefix}-lambda"
  description = "Ember functions: outbound only"
  vpc_id      = aws_vpc.this.id
}

resource "aws_security_group" "db_proxy" {
  #checkov:skip=CKV2_AWS_5:attached in modules/database (aws_db_proxy) through this module's output; the plan graph does not follow references across modules
  name        = "${var.name_prefix}-db-proxy"
  description = "RDS Proxy: PostgreSQL from the functions"
  vpc_id      = aws_vpc.this.id
}

resource "aws_security_group" "db" {
  #checkov:skip=CKV2_AWS_5:attached in modules/database (aws_db_instance) through this module's output; the plan graph does not follow references across modules
  name        = "${var.name_prefix}-db"
  description = "RDS PostgreSQL: from the proxy only"
  vpc_id      = aws_vpc.this.id
}

resource "aws_security_group" "cache" {
  #checkov:skip=CKV2_AWS_5:attached in modules/cache (aws_elasticache_replication_group) through this module's output; the plan graph does not follow references across modules
  name        = "${var.name_prefix}-cache"
  description = "ElastiCache Redis: TLS from the functions"
  vpc_id      = aws_vpc.this.id
}

resource "aws_security_group" "kafka" {
  #checkov:skip=CKV2_AWS_5:attached in modules/kafka (aws_msk_serverless_cluster) through this module's output; the plan graph does not follow references across modules
  name        = "${var.name_prefix}-kafka"
  description = "MSK Serverless (IAM, TLS 9098): from the functions and the event source mappings"
  vpc_id      = aws_vpc.this.id
}

resource "aws_security_group" "endpoints" {
  name        = "${var.name_prefix}-endpoints"
  description = "Interface VPC endpoints: HTTPS from inside the VPC"
  vpc_id      = aws_vpc.this.id
}

locals {
  # name => [security group, type, port, peer security group or null, cidr or null, description]
  rules = {
    lambda_https_out = [aws_security_group.lambda.id, "egress", 443, null, "0.0.0.0/0", "HTTPS: AWS endpoints, chain JSON-RPC, exchange API"]
    lambda_db_out    = [aws_security_group.lambda.id, "egress", 5432, aws_security_group.db_proxy.id, null, "PostgreSQL through RDS Proxy"]
    lambda_redis_out = [aws_security_group.lambda.id, "egress", 6379, aws_security_group.cache.id, null, "Redis (TLS)"]
    lambda_kafka_out = [aws_security_group.lambda.id, "egress", 9098, aws_security_group.kafka.id, null, "MSK IAM (TLS)"]
    proxy_in         = [aws_security_group.db_proxy.id, "ingress", 5432, aws_security_group.lambda.id, null, "PostgreSQL from the functions"]
    proxy_db_out     = [aws_security_group.db_proxy.id, "egress", 5432, aws_security_group.db.id, null, "PostgreSQL to the instance"]
    db_in            = [aws_security_group.db.id, "ingress", 5432, aws_security_group.db_proxy.id, null, "PostgreSQL from RDS Proxy"]
    cache_in         = [aws_security_group.cache.id, "ingress", 6379, aws_security_group.lambda.id, null, "Redis from the functions"]
    kafka_in         = [aws_security_group.kafka.id, "ingress", 9098, aws_security_group.lambda.id, null, "MSK IAM from the functions"]
    kafka_self_in    = [aws_security_group.kafka.id, "ingress", 9098, aws_security_group.kafka.id, null, "MSK IAM from the event source mapping pollers"]
    kafka_self_out   = [aws_security_group.kafka.id, "egress", 9098, aws_security_group.kafka.id, null, "Event source mapping pollers to the brokers"]
    kafka_https_out  = [aws_security_group.kafka.id, "egress", 443, aws_security_group.endpoints.id, null, "Event source mapping pollers to Lambda, STS and SQS endpoints"]
    endpoints_in     = [aws_security_group.endpoints.id, "ingress", 443, null, var.cidr_block, "HTTPS to AWS APIs from the VPC"]
  }
}

resource "aws_security_group_rule" "this" {
  for_each                 = local.rules
  security_group_id        = each.value[0]
  type                     = each.value[1]
  protocol                 = "tcp"
  from_port                = each.value[2]
  to_port                  = each.value[2]
  source_security_group_id = each.value[3]
  cidr_blocks              = each.value[4] == null ? null : [each.value[4]]
  description              = each.value[5]
}

# ---- VPC endpoints -----------------------------------------------------------------------

resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${var.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = aws_route_table.private[*].id
}

resource "aws_vpc_endpoint" "interface" {
  for_each            = toset(var.interface_endpoints)
  vpc_id              = aws_vpc.this.id
  service_name        = "com.amazonaws.${var.region}.${each.value}"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = aws_subnet.private[*].id
  security_group_ids  = [aws_security_group.endpoints.id]
}
