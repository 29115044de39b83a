# One Lambda per function, in the VPC, each with its own least-privilege role and its own
# dead-letter queue (async failures of the schedules, and the MSK triggers' on-failure
# destination). buy_tokens and burn alone get the chain layer (web3 + ccxt).

locals {
  all_topics = ["ember.rounds", "ember.commission", "ember.buybacks", "ember.burns"]

  functions = {
    api = {
      handler = "app.app", timeout = 29, memory = 1024, chain = false, db = true, redis = true
      produce = [], consume = null, signs = false, exchange = false, kill_switch = false, reports = "read"
    }
    round_keeper = {
      handler     = "app.handler", timeout = 55, memory = 512, chain = false, db = true, redis = true
      produce     = ["ember.rounds", "ember.commission"], consume = null, signs = false, exchange = false
      kill_switch = false, reports = null
    }
    outbox_relay = {
      handler = "app.handler", timeout = 55, memory = 512, chain = false, db = true, redis = false
      produce = local.all_topics, consume = null, signs = false, exchange = false, kill_switch = false
      reports = null
    }
    buy_tokens = {
      handler  = "app.handler", timeout = 600, memory = 1024, chain = true, db = true, redis = false
      produce  = ["ember.buybacks", "ember.dlq.buy_tokens"], consume = "ember.commission", signs = true
      exchange = true, kill_switch = true, reports = null
    }
    burn = {
      handler  = "app.handler", timeout = 600, memory = 1024, chain = true, db = true, redis = false
      produce  = ["ember.burns", "ember.dlq.burn"], consume = "ember.buybacks", signs = true
      exchange = false, kill_switch = true, reports = null
    }
    burn_report = {
      handler = "app.handler", timeout = 300, memory = 1024, chain = false, db = true, redis = false
      produce = [], consume = null, signs = false, exchange = false, kill_switch = false
      reports = "write"
    }
  }

  kafka = var.features.kafka

  # The layers of each function: the chain layer (web3, ccxt) only where a wallet signs.
  layers = { for k, f in local.functions : k => concat(["ember", "base"], f.chain ? ["chain"] : []) }
}

# ---- layers ------------------------------------------------------------------------------

resource "aws_lambda_layer_version" "this" {
  for_each            = var.layer_zips
  layer_name          = "${var.name_prefix}-${each.key}"
  description         = { ember = "the ember library", base = "core dependencies", chain = "web3 and ccxt (buy_tokens, burn)" }[each.key]
  filename            = each.value
  source_code_hash    = filebase64sha256(each.value)
  compatible_runtimes = ["python3.11"]
}

# ---- dead letters ------------------------------------------------------------------------

resource "aws_sqs_queue" "dead_letters" {
  for_each                          = local.functions
  name                              = "${var.function_names[each.key]}-dead-letters"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 3600
}

data "aws_iam_policy_document" "dead_letters" {
  for_each = var.schedules
  statement {
    sid       = "ScheduleDeliveryFailures"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letters[each.key].arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.schedule[each.key].arn]
    }
  }
}

resource "aws_sqs_queue_policy" "dead_letters" {
  for_each  = var.schedules
  queue_url = aws_sqs_queue.dead_letters[each.key].id
  policy    = data.aws_iam_policy_document.dead_letters[each.key].json
}

# ---- roles -------------------------------------------------------------------------------

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  for_each           = local.functions
  name               = "${var.function_names[each.key]}-lambda"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

data "aws_iam_policy_document" "this" {
  #checkov:skip=CKV_AWS_111:only the VPC ENI and X-Ray statements use "*": Lambda's ENI management and xray:Put* accept no narrower resource; every other statement names its ARN
  #checkov:skip=CKV_AWS_356:as above, "*" only where the actions take no resource-level scoping (EC2 ENI calls Lambda makes, X-Ray)
  for_each = local.functions

  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${var.log_group_arns[each.key]}:*"]
  }

  # Lambda's VPC attachment (and, for the MSK triggers, the pollers' ENIs). These EC2
  # actions take no resource-level scoping that Lambda's service calls satisfy; this is the
  # statement of AWSLambdaVPCAccessExecutionRole / AWSLambdaMSKExecutionRole.
  statement {
    sid = "VpcNetworkInterfaces"
    actions = [
      "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:DescribeNetworkInterfaces",
      "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses", "ec2:DescribeSubnets",
      "ec2:DescribeSecurityGroups", "ec2:DescribeVpcs",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  statement {
    sid       = "OwnDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letters[each.key].arn]
  }

  statement {
    sid       = "DataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  dynamic "statement" {
    for_each = each.value.db && var.features.database ? [1] : []
    content {
      sid       = "DatabaseThroughProxy"
      actions   = ["rds-db:connect"]
      resources = [var.database_connect_arn]
    }
  }

  dynamic "statement" {
    for_each = each.value.redis && var.features.redis ? [1] : []
    content {
      sid       = "RedisAuthToken"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [var.redis_auth_secret_arn]
    }
  }

  dynamic "statement" {
    for_each = local.kafka && (length(each.value.produce) > 0 || each.value.consume != null) ? [1] : []
    content {
      sid       = "KafkaConnect"
      actions   = ["kafka-cluster:Connect", "kafka-cluster:DescribeClusterDynamicConfiguration"]
      resources = [var.kafka_cluster_arn]
    }
  }

  dynamic "statement" {
    for_each = local.kafka && length(each.value.produce) > 0 ? [1] : []
    content {
      sid       = "KafkaProduce"
      actions   = ["kafka-cluster:DescribeTopic", "kafka-cluster:CreateTopic", "kafka-cluster:WriteData"]
      resources = [for t in each.value.produce : "${var.kafka_topic_arn_prefix}/${t}"]
    }
  }

  dynamic "statement" {
    for_each = local.kafka && each.value.consume != null ? [1] : []
    content {
      sid       = "KafkaConsumeTopic"
      actions   = ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"]
      resources = ["${var.kafka_topic_arn_prefix}/${each.value.consume}"]
    }
  }

  dynamic "statement" {
    for_each = local.kafka && each.value.consume != null ? [1] : []
    content {
      sid       = "KafkaConsumerGroup"
      actions   = ["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"]
      resources = ["${var.kafka_group_arn_prefix}/${var.consumer_group_ids[each.key]}"]
    }
  }

  dynamic "statement" {
    for_each = local.kafka && each.value.consume != null ? [1] : []
    content {
      sid       = "KafkaTriggerBrokers"
      actions   = ["kafka:DescribeClusterV2", "kafka:GetBootstrapBrokers"]
      resources = [var.kafka_cluster_arn]
    }
  }

  dynamic "statement" {
    for_each = each.value.signs && var.features.wallet ? [1] : []
    content {
      sid       = "WalletSigns"
      actions   = ["kms:Sign", "kms:GetPublicKey"]
      resources = [var.wallet_key_arn]
    }
  }

  dynamic "statement" {
    for_each = each.value.exchange && var.features.wallet ? [1] : []
    content {
      sid       = "ExchangeCredentials"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = var.exchange_secret_arns
    }
  }

  dynamic "statement" {
    for_each = each.value.kill_switch && var.features.wallet ? [1] : []
    content {
      sid       = "KillSwitch"
      actions   = ["ssm:GetParameter"]
      resources = [var.kill_switch_parameter_arn]
    }
  }

  dynamic "statement" {
    for_each = each.value.reports != null && var.features.reports ? [1] : []
    content {
      sid       = "ReportsList"
      actions   = ["s3:ListBucket"]
      resources = [var.reports_bucket_arn]
      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = ["reports/*"]
      }
    }
  }

  dynamic "statement" {
    for_each = each.value.reports != null && var.features.reports ? [1] : []
    content {
      sid       = "ReportsObjects"
      actions   = each.value.reports == "write" ? ["s3:GetObject", "s3:PutObject"] : ["s3:GetObject"]
      resources = ["${var.reports_bucket_arn}/reports/*"]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  for_each = local.functions
  name     = "ember-${each.key}"
  role     = aws_iam_role.this[each.key].id
  policy   = data.aws_iam_policy_document.this[each.key].json
}

# ---- functions ---------------------------------------------------------------------------

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_272:artifacts come from `make package` in CI and are pinned by source_code_hash; AWS Signer is not wired into the pipeline yet
  for_each      = local.functions
  function_name = var.function_names[each.key]
  description   = "ember ${each.key}"
  role          = aws_iam_role.this[each.key].arn
  runtime       = "python3.11"
  handler       = each.value.handler
  architectures = [var.architecture]
  memory_size   = each.value.memory
  timeout       = each.value.timeout

  filename         = var.function_zips[each.key]
  source_code_hash = filebase64sha256(var.function_zips[each.key])
  layers           = [for l in local.layers[each.key] : aws_lambda_layer_version.this[l].arn]

  reserved_concurrent_executions = var.reserved_concurrency[each.key]
  kms_key_arn                    = var.kms_key_arn

  environment {
    variables = merge(var.environment, lookup(var.function_environment, each.key, {}))
  }

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = var.security_group_ids
  }

  tracing_config {
    mode = "Active"
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dead_letters[each.key].arn
  }

  logging_config {
    log_format = "JSON"
    log_group  = var.log_group_names[each.key]
  }

  depends_on = [aws_iam_role_policy.this]
}

# Async invocations (the schedules): retry twice, then the dead-letter queue.
resource "aws_lambda_function_event_invoke_config" "this" {
  for_each                     = var.schedules
  function_name                = aws_lambda_function.this[each.key].function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 3600
}

# ---- schedules ---------------------------------------------------------------------------

resource "aws_cloudwatch_event_rule" "schedule" {
  for_each            = var.schedules
  name                = "${var.function_names[each.key]}-schedule"
  description         = "runs ${each.key}: ${each.value}"
  schedule_expression = each.value
}

resource "aws_cloudwatch_event_target" "schedule" {
  for_each = var.schedules
  rule     = aws_cloudwatch_event_rule.schedule[each.key].name
  arn      = aws_lambda_function.this[each.key].arn

  retry_policy {
    maximum_retry_attempts       = 2
    maximum_event_age_in_seconds = 300
  }

  dead_letter_config {
    arn = aws_sqs_queue.dead_letters[each.key].arn
  }
}

resource "aws_lambda_permission" "schedule" {
  for_each      = var.schedules
  statement_id  = "AllowEventBridgeSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this[each.key].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.schedule[each.key].arn
}

# ---- MSK triggers ------------------------------------------------------------------------
# aws provider 5.100 takes every attribute below for an MSK source and passes it to
# CreateEventSourceMapping: consumer_group_id (amazon_managed_kafka_event_source_config),
# batch_size, destination_config.on_failure (SQS here; SNS, S3 and Kafka also work), and the
# error-handling controls function_response_types, maximum_retry_attempts,
# maximum_record_age_in_seconds and bisect_batch_on_function_error. Lambda honours those
# error-handling controls on Kafka sources only in provisioned poller mode, hence
# provisioned_poller_config.

resource "aws_lambda_event_source_mapping" "kafka" {
  for_each          = var.kafka_triggers && local.kafka ? { for k, f in local.functions : k => f.consume if f.consume != null } : {}
  function_name     = aws_lambda_function.this[each.key].arn
  event_source_arn  = var.kafka_cluster_arn
  topics            = [each.value]
  starting_position = "TRIM_HORIZON"
  batch_size        = var.consumer_batch_size
  enabled           = true

  maximum_batching_window_in_seconds = 1

  amazon_managed_kafka_event_source_config {
    consumer_group_id = var.consumer_group_ids[each.key]
  }

  function_response_types        = ["ReportBatchItemFailures"]
  maximum_retry_attempts         = var.consumer_max_retries
  maximum_record_age_in_seconds  = var.consumer_max_record_age_s
  bisect_batch_on_function_error = false

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.dead_letters[each.key].arn
    }
  }

  provisioned_poller_config {
    minimum_pollers = 1
    maximum_pollers = var.consumer_max_pollers
  }

  depends_on = [aws_iam_role_policy.this]
}
