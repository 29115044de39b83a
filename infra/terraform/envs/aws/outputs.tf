output "api_url" {
  value = module.api.invoke_url
}

output "user_pool_id" {
  value = module.api.user_pool_id
}

output "user_pool_client_id" {
  value = module.api.user_pool_client_id
}

output "function_names" {
  value = module.functions.function_names
}

output "function_layers" {
  value = module.functions.function_layers
}

output "reports_bucket" {
  value = module.reports.bucket
}

output "wallet_key_id" {
  value = module.wallet.signing_key_id
}

output "kill_switch_parameter" {
  value = module.wallet.kill_switch_parameter_name
}

output "dashboard" {
  value = module.observability.dashboard_name
}
