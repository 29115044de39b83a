output "function_names" {
  value = { for k, f in aws_lambda_function.this : k => f.function_name }
}

output "function_layers" {
  description = "the layers (ember, base, chain) of each function"
  value       = local.layers
}

output "function_arns" {
  value = { for k, f in aws_lambda_function.this : k => f.arn }
}

output "api_invoke_arn" {
  value = aws_lambda_function.this["api"].invoke_arn
}

output "api_function_name" {
  value = aws_lambda_function.this["api"].function_name
}

output "role_arns" {
  value = { for k, r in aws_iam_role.this : k => r.arn }
}

output "dead_letter_queue_names" {
  value = { for k, q in aws_sqs_queue.dead_letters : k => q.name }
}

output "dead_letter_queue_arns" {
  value = { for k, q in aws_sqs_queue.dead_letters : k => q.arn }
}

output "kafka_trigger_ids" {
  value = { for k, m in aws_lambda_event_source_mapping.kafka : k => m.uuid }
}
