# Ember on LocalStack (community): the functions, schedules, API Gateway, KMS wallet key,
# secrets, kill switch, reports bucket, log groups, alarms and dashboard. The database, cache
# and Kafka modules are not instantiated (LocalStack Pro only); MSK triggers are off and
# `ember consumers` runs the consumers against the given Kafka instead.

locals {
  name = "ember-local"

  function_keys  = ["api", "round_keeper", "outbox_relay", "buy_tokens", "burn", "burn_report"]
  function_names = { for f in local.function_keys : f => "${local.name}-${replace(f, "_", "-")}" }

  environment = merge(
    {
      DATABASE_URL            = var.database_url
      REDIS_URL               = var.redis_url
      KAFKA_BOOTSTRAP_SERVERS = var.kafka_bootstrap_servers
      EMBER_KAFKA_SECURITY    = "plaintext"
      CHAIN_RPC_URL           = var.chain_rpc_url
      EMBER_REPORTS_BUCKET    = module.reports.bucket
      EMBER_LOG_LEVEL         = "DEBUG"
    },
    var.auth_environment,
    var.app_environment,
  )

  signer_environment = {
    EMBER_WALLET_SIGNER         = "kms"
    EMBER_WALLET_KMS_KEY_ID     = module.wallet.signing_key_id
    EMBER_KILL_SWITCH_PARAMETER = module.wallet.kill_switch_parameter_name
  }
}

module "keys" {
  source      = "../../modules/keys"
  name_prefix = local.name
  account_id  = var.account_id
  region      = var.region
}

module "network" {
  source             = "../../modules/network"
  name_prefix        = local.name
  region             = var.region
  availability_zones = var.availability_zones
  nat_gateways       = 0
  kms_key_arn        = module.keys.key_arn
}

module "reports" {
  source      = "../../modules/reports"
  name_prefix = local.name
  account_id  = var.account_id
  kms_key_arn = module.keys.key_arn
}

module "wallet" {
  source           = "../../modules/wallet"
  name_prefix      = local.name
  account_id       = var.account_id
  signer_role_arns = [module.functions.role_arns["buy_tokens"], module.functions.role_arns["burn"]]
  kms_key_arn      = module.keys.key_arn
}

module "observability" {
  source                  = "../../modules/observability"
  name_prefix             = local.name
  region                  = var.region
  kms_key_arn             = module.keys.key_arn
  function_names          = local.function_names
  dead_letter_queue_names = { for f, n in local.function_names : f => "${n}-dead-letters" }
}

module "functions" {
  source         = "../../modules/functions"
  name_prefix    = local.name
  function_names = local.function_names
  function_zips  = { for f in local.function_keys : f => "${var.dist_dir}/functions/${f}.zip" }
  layer_zips = {
    ember = "${var.dist_dir}/layers/ember.zip"
    base  = "${var.dist_dir}/layers/base.zip"
    chain = "${var.dist_dir}/layers/chain.zip"
  }

  environment = local.environment
  function_environment = {
    buy_tokens = local.signer_environment
    burn       = local.signer_environment
  }

  subnet_ids         = module.network.private_subnet_ids
  security_group_ids = [module.network.security_group_ids.lambda]
  kms_key_arn        = module.keys.key_arn
  log_group_names    = module.observability.function_log_group_names
  log_group_arns     = module.observability.function_log_group_arns

  features       = { database = false, redis = false, kafka = false, wallet = true, reports = true }
  kafka_triggers = false

  wallet_key_arn            = module.wallet.signing_key_arn
  exchange_secret_arns      = values(module.wallet.exchange_secret_arns)
  kill_switch_parameter_arn = module.wallet.kill_switch_parameter_arn
  reports_bucket_arn        = module.reports.bucket_arn
}

module "api" {
  source                      = "../../modules/api"
  name_prefix                 = local.name
  lambda_invoke_arn           = module.functions.api_invoke_arn
  lambda_function_name        = module.functions.api_function_name
  access_log_group_arn        = module.observability.api_access_log_group_arn
  kms_key_arn                 = module.keys.key_arn
  cognito                     = false
  waf                         = false
  manage_account_logging_role = false
}
