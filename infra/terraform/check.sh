#!/usr/bin/env bash
# The infrastructure checks (`make infra-check`), runnable alone from the repo root:
#   infra/terraform/check.sh               fmt, then for each env: init, validate, plan, checkov
#   infra/terraform/check.sh plan ENV OUT  write ENV's plan as JSON to OUT (tests use this)
# No AWS account is needed: plans use dummy credentials, the provider's skip flags and
# placeholder zips. Without a terraform binary it falls back to `checkov -d` (static) and
# says so. checkov (pinned) lives in its own venv under .ember/.
set -euo pipefail
cd "$(dirname "$0")/../.."

TF_DIR=infra/terraform
ENVS=(aws localstack)
PLUGIN_DIR=${TF_PLUGIN_DIR:-/opt/tf-plugins}
CHECKOV_VERSION=3.3.30
VENV=.ember/infra-venv
PYTHON=${PYTHON:-python3}

export TF_CLI_CONFIG_FILE=/dev/null TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_SESSION_TOKEN=test
export AWS_REGION=eu-west-1 AWS_DEFAULT_REGION=eu-west-1 AWS_EC2_METADATA_DISABLED=true

checkov() {
    if [[ ! -x $VENV/bin/checkov || ! -f $VENV/.checkov-$CHECKOV_VERSION ]]; then
        "$PYTHON" -m venv "$VENV"
        "$VENV/bin/pip" install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"
        touch "$VENV/.checkov-$CHECKOV_VERSION"
    fi
    # --skip-download: no call to the vendor's API (guidelines, external checks), offline and fast
    BC_SKIP_MAPPING=TRUE "$VENV/bin/checkov" --compact --quiet --skip-download "$@"
}

placeholders() {  # DIR: the zips `make package` would write, empty but valid
    mkdir -p "$1/functions" "$1/layers"
    "$PYTHON" - "$1" <<'PY'
import sys, zipfile
root = sys.argv[1]
for name in ("api", "round_keeper", "outbox_relay", "buy_tokens", "burn", "burn_report"):
    with zipfile.ZipFile(f"{root}/functions/{name}.zip", "w") as z:
        z.writestr("app.py", "")
for name in ("ember", "base", "chain"):
    with zipfile.ZipFile(f"{root}/layers/{name}.zip", "w") as z:
        z.writestr("python/.keep", "")
PY
}

plan_vars() {  # ENV DIST
    case $1 in
        aws) echo "-var offline_plan=true -var account_id=123456789012 -var chain_rpc_url=https://rpc.invalid -var dist_dir=$2" ;;
        localstack) echo "-var dist_dir=$2" ;;
    esac
}

plan() {  # ENV OUT_JSON [WORK]: init, validate, plan, show -json
    local env=$1 out=$2 work=${3:-$(mktemp -d)}
    local dir=$TF_DIR/envs/$env
    placeholders "$work/dist"
    export TF_DATA_DIR=$work/tf-$env  # keeps .terraform/ out of the tree
    terraform -chdir="$dir" init -backend=false -plugin-dir="$PLUGIN_DIR" -input=false -no-color -lockfile=readonly >/dev/null
    terraform -chdir="$dir" validate -no-color >/dev/null
    # shellcheck disable=SC2046
    terraform -chdir="$dir" plan -input=false -lock=false -refresh=false -no-color \
        -out="$work/$env.tfplan" $(plan_vars "$env" "$work/dist") >"$work/$env.plan.log" \
        || { cat "$work/$env.plan.log" >&2; return 1; }
    terraform -chdir="$dir" show -json "$work/$env.tfplan" >"$out"
    grep -E '^Plan:' "$work/$env.plan.log" | sed "s/^/$env: /"
}

if [[ ${1:-} == plan ]]; then
    plan "$2" "$3"
    exit
fi

if ! command -v terraform >/dev/null; then
    echo "infra-check: terraform not found: static checks only (no fmt, validate, plan); checkov -d $TF_DIR"
    checkov -d "$TF_DIR" --framework terraform
    exit
fi

terraform fmt -check -recursive -diff "$TF_DIR"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pids=()
for env in "${ENVS[@]}"; do  # the envs plan in parallel, each in its own TF_DATA_DIR
    plan "$env" "$work/$env.json" "$work" &
    pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
for env in "${ENVS[@]}"; do
    # Unknown-until-apply values (ARNs of keys made in the same plan) count as set; skips are
    # read from #checkov:skip comments in the sources (--repo-root-for-plan-enrichment).
    EVAL_TF_PLAN_AFTER_UNKNOWN=true checkov -f "$work/$env.json" --framework terraform_plan \
        --repo-root-for-plan-enrichment "$TF_DIR" | sed "s/^/$env: /"
done
echo "infra-check: ok"
