output "api_url" {
  value = module.api.invoke_url
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
