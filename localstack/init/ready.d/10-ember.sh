#!/bin/bash
# LocalStack ready hook: what the Ember functions expect to find in AWS before terraform runs.
# Idempotent: LocalStack runs it at every start. awslocal is LocalStack's own aws CLI wrapper.
set -euo pipefail

REGION="${AWS_DEFAULT_REGION:-us-east-1}"
BUCKET="${EMBER_REPORTS_BUCKET:-ember-reports-local}"
KILL_SWITCH="${EMBER_KILL_SWITCH_PARAMETER:-/ember/buybacks/kill-switch}"
aws() { awslocal --region "$REGION" "$@"; }

# Finance reports (CSV, JSON, HTML) land here.
aws s3api head-bucket --bucket "$BUCKET" 2>/dev/null || aws s3api create-bucket --bucket "$BUCKET"

# Secrets the functions read: the database URL, the API's HS256 secret, the wallet key
# (Hardhat's well-known dev account #0: worthless outside a dev chain).
put_secret() {
    if aws secretsmanager describe-secret --secret-id "$1" >/dev/null 2>&1; then
        aws secretsmanager put-secret-value --secret-id "$1" --secret-string "$2" >/dev/null
    else
        aws secretsmanager create-secret --name "$1" --secret-string "$2" >/dev/null
    fi
}
put_secret ember/database-url "postgresql://ember:ember@postgres:5432/ember"
put_secret ember/jwt-secret "localstack-only-hs256-secret-at-least-32-characters"
put_secret ember/wallet-private-key "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

# The buy-back kill switch: anything but "off" halts buys and burns.
aws ssm put-parameter --name "$KILL_SWITCH" --type String --value off --overwrite >/dev/null

# The technical wallet's signing key in KMS (secp256k1, never leaves KMS), by alias.
if ! aws kms describe-key --key-id alias/ember-wallet >/dev/null 2>&1; then
    KEY_ID=$(aws kms create-key --key-usage SIGN_VERIFY --key-spec ECC_SECG_P256K1 \
        --description "Ember technical wallet (local)" --query KeyMetadata.KeyId --output text)
    aws kms create-alias --alias-name alias/ember-wallet --target-key-id "$KEY_ID"
fi

echo "ember: bucket=$BUCKET secrets=ember/* ssm=$KILL_SWITCH kms=alias/ember-wallet ready"
