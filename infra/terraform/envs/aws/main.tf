# Ember on AWS: every module, wired. `make package` builds the zips this reads.

data "aws_partition" "current" {}

locals {
  name = "ember-${var.environment}"

  function_keys  = ["api", "round_keeper", "outbox_relay", "buy_tokens", "burn", "burn_report"]
  function_names = { for f in local.function_keys : f => "${local.name}-${replace(f, "_", "-")}" }

  function_zips = merge({ for f in local.function_keys : f => "${var.dist_dir}/functions/${f}.zip" }, var.function_zips)
  layer_zips    = merge({ for l in ["ember", "base", "chain"] : l => "${var.dist_dir}/layers/${l}.zip" }, var.layer_zips)

  environment = merge(
    {
      DATABASE_URL                 = module.database.database_url
      EMBER_DATABASE_AUTH          = "iam"
      REDIS_URL                    = module.cache.redis_url
      EMBER_REDIS_AUTH_SECRET_ID   = module.cache.auth_secret_arn
      KAFKA_BOOTSTRAP_SERVERS      = module.kafka.bootstrap_servers
      EMBER_KAFKA_SECURITY         = "msk_iam"
      EMBER_AUTH_MODE              = "authorizer"
      EMBER_JWT_ISSUER             = module.api.jwt_issuer
      EMBER_JWT_AUDIENCE           = module.api.user_pool_client_id
      CHAIN_RPC_URL                = var.chain_rpc_url
      EMBER_SALT_SOURCE            = "block-hash"
      EMBER_REPORTS_BUCKET         = module.reports.bucket
      EMBER_LOG_LEVEL              = var.log_level
      POWERTOOLS_METRICS_NAMESPACE = "Ember"
    },
    var.app_environment,
  )

  signer_environment = merge(
    {
      EMBER_WALLET_SIGNER         = "kms"
      EMBER_WALLET_KMS_KEY_ID     = module.wallet.signing_key_id
      EMBER_KILL_SWITCH_PARAMETER = module.wallet.kill_switch_parameter_name
    },
    var.cex_exchange == null ? {} : {
      EMBER_CEX_EXCHANGE             = var.cex_exchange
      EMBER_CEX_API_KEY_SECRET_ID    = module.wallet.exchange_secret_arns["api-key"]
      EMBER_CEX_API_SECRET_SECRET_ID = module.wallet.exchange_secret_arns["api-secret"]
    },
  )
}

module "keys" {
  source      = "../../modules/keys"
  name_prefix = local.name
  account_id  = var.account_id
  region      = var.region
  partition   = data.aws_partition.current.partition
}

module "network" {
  source             = "../../modules/network"
  name_prefix        = local.name
  region             = var.region
  availability_zones = var.availability_zones
  nat_gateways       = var.nat_gateways
  kms_key_arn        = module.keys.key_arn
}

module "database" {
  source                  = "../../modules/database"
  name_prefix             = local.name
  subnet_ids              = module.network.private_subnet_ids
  db_security_group_id    = module.network.security_group_ids.db
  proxy_security_group_id = module.network.security_group_ids.db_proxy
  kms_key_arn             = module.keys.key_arn
  instance_class          = var.db_instance_class
  multi_az                = var.db_multi_az
}

module "cache" {
  source             = "../../modules/cache"
  name_prefix        = local.name
  subnet_ids         = module.network.private_subnet_ids
  security_group_id  = module.network.security_group_ids.cache
  kms_key_arn        = module.keys.key_arn
  node_type          = var.cache_node_type
  log_retention_days = var.log_retention_days
}

module "kafka" {
  source            = "../../modules/kafka"
  name_prefix       = local.name
  subnet_ids        = module.network.private_subnet_ids
  security_group_id = module.network.security_group_ids.kafka
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
  partition        = data.aws_partition.current.partition
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
  log_retention_days      = var.log_retention_days
  alarm_emails            = var.alarm_emails
}

module "functions" {
  source         = "../../modules/functions"
  name_prefix    = local.name
  function_names = local.function_names
  function_zips  = local.function_zips
  layer_zips = {
    ember = local.layer_zips["ember"]
    base  = local.layer_zips["base"]
    chain = local.layer_zips["chain"]
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

  features = { database = true, redis = true, kafka = true, wallet = true, reports = true }

  database_connect_arn      = module.database.connect_arn
  redis_auth_secret_arn     = module.cache.auth_secret_arn
  kafka_cluster_arn         = module.kafka.cluster_arn
  kafka_topic_arn_prefix    = module.kafka.topic_arn_prefix
  kafka_group_arn_prefix    = module.kafka.group_arn_prefix
  wallet_key_arn            = module.wallet.signing_key_arn
  exchange_secret_arns      = values(module.wallet.exchange_secret_arns)
  kill_switch_parameter_arn = module.wallet.kill_switch_parameter_arn
  reports_bucket_arn        = module.reports.bucket_arn
}

module "api" {
  source               = "../../modules/api"
  name_prefix          = local.name
  lambda_invoke_arn    = module.functions.api_invoke_arn
  lambda_function_name = module.functions.api_function_name
  access_log_group_arn = module.observability.api_access_log_group_arn
  kms_key_arn          = module.keys.key_arn
  log_retention_days   = var.log_retention_days
}
