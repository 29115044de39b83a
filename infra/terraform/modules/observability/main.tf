# Log groups (retention, KMS), alarms to an encrypted SNS topic, and the Ember dashboard.
# The app publishes its metrics as CloudWatch EMF, namespace Ember, dimension service=ember
# plus labels (ember.runtime.metrics).

locals {
  ns  = var.metric_namespace
  svc = var.metric_service
}

resource "aws_cloudwatch_log_group" "functions" {
  for_each          = var.function_names
  name              = "/aws/lambda/${each.value}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_cloudwatch_log_group" "api_access" {
  name              = "/ember/${var.name_prefix}/api-access"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

# ---- alarm topic -------------------------------------------------------------------------

resource "aws_sns_topic" "alarms" {
  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = var.kms_key_arn
}

resource "aws_sns_topic_subscription" "email" {
  for_each  = toset(var.alarm_emails)
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

# ---- alarms ------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "function_errors" {
  for_each            = var.function_names
  alarm_name          = "${each.value}-errors"
  alarm_description   = "${each.key}: invocations failed"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.function_error_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  for_each            = var.dead_letter_queue_names
  alarm_name          = "${each.value}-not-empty"
  alarm_description   = "${each.key}: a failed invocation or discarded Kafka batch is waiting in ${each.value}"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "consumer_lag" {
  for_each            = toset(var.consumers)
  alarm_name          = "${var.function_names[each.key]}-consumer-lag"
  alarm_description   = "${each.key}: its MSK trigger is more than ${var.consumer_lag_threshold} records behind"
  namespace           = "AWS/Lambda"
  metric_name         = "OffsetLag"
  dimensions          = { FunctionName = var.function_names[each.key] }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 3
  threshold           = var.consumer_lag_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "wallet_gas_low" {
  alarm_name          = "${var.name_prefix}-wallet-gas-low"
  alarm_description   = "the technical wallet's native balance is below ${var.wallet_gas_low_wei} wei: buy-backs and burns will stall"
  namespace           = local.ns
  metric_name         = "WalletGasBalanceWei"
  dimensions          = { service = local.svc }
  statistic           = "Minimum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.wallet_gas_low_wei
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

# ---- dashboard ---------------------------------------------------------------------------

locals {
  search = {
    errors       = "SEARCH('{${local.ns},service,source} MetricName=\"Errors\"', 'Sum', 60)"
    dead_letters = "SEARCH('{${local.ns},service,consumer} MetricName=\"DeadLetters\"', 'Sum', 60)"
    app_lag      = "SEARCH('{${local.ns},service,consumer} MetricName=\"ConsumerLag\"', 'Maximum', 60)"
  }

  widgets = [
    { title = "Bets per second", metrics = [[{ expression = "m1/PERIOD(m1)", label = "bets/s", id = "e1" }], [local.ns, "BetsPlaced", "service", local.svc, { id = "m1", stat = "Sum", visible = false }]] },
    { title = "Bet latency (s)", metrics = [[local.ns, "BetLatency", "service", local.svc, { stat = "p99" }], ["...", { stat = "p50" }]] },
    { title = "Settlement latency (s)", metrics = [[local.ns, "SettlementLatency", "service", local.svc, { stat = "p99" }], ["...", { stat = "p50" }], [local.ns, "RoundsSettled", "service", local.svc, { stat = "Sum", yAxis = "right" }]] },
    { title = "Commission accrued", metrics = [[local.ns, "CommissionAccrued", "service", local.svc, { stat = "Sum" }]] },
    { title = "Buy-backs", metrics = [[local.ns, "Buybacks", "service", local.svc, { stat = "Sum" }]] },
    { title = "Tokens burned", metrics = [[local.ns, "TokensBurned", "service", local.svc, { stat = "Sum" }]] },
    { title = "Token supply", metrics = [[local.ns, "TokenSupply", "service", local.svc, { stat = "Minimum" }]] },
    { title = "Wallet gas balance (wei)", metrics = [[local.ns, "WalletGasBalanceWei", "service", local.svc, { stat = "Minimum" }]] },
    { title = "Errors", metrics = concat(
      [[{ expression = local.search.errors, id = "e1", label = "app" }]],
      [for k, n in var.function_names : ["AWS/Lambda", "Errors", "FunctionName", n, { stat = "Sum", label = k }]],
    ) },
    { title = "Dead letters", metrics = concat(
      [[{ expression = local.search.dead_letters, id = "e1", label = "app DLQ topics" }]],
      [for k, q in var.dead_letter_queue_names : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q, { stat = "Maximum", label = k }]],
    ) },
    { title = "Consumer lag", metrics = concat(
      [for c in var.consumers : ["AWS/Lambda", "OffsetLag", "FunctionName", var.function_names[c], { stat = "Maximum", label = "${c} (records)" }]],
      [[{ expression = local.search.app_lag, id = "e1", label = "oldest record age (s)", yAxis = "right" }]],
    ) },
  ]
}

resource "aws_cloudwatch_dashboard" "ember" {
  dashboard_name = var.name_prefix
  dashboard_body = jsonencode({
    widgets = [for i, w in local.widgets : {
      type   = "metric"
      x      = (i % 3) * 8
      y      = floor(i / 3) * 6
      width  = 8
      height = 6
      properties = {
        title   = w.title
        region  = var.region
        view    = "timeSeries"
        stacked = false
        period  = 60
        metrics = w.metrics
      }
    }]
  })
}
