output "function_log_group_names" {
  value = { for k, g in aws_cloudwatch_log_group.functions : k => g.name }
}

output "function_log_group_arns" {
  value = { for k, g in aws_cloudwatch_log_group.functions : k => g.arn }
}

output "api_access_log_group_arn" {
  value = aws_cloudwatch_log_group.api_access.arn
}

output "alarm_topic_arn" {
  value = aws_sns_topic.alarms.arn
}

output "dashboard_name" {
  value = aws_cloudwatch_dashboard.ember.dashboard_name
}
