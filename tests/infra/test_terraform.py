"""The Terraform envs, planned offline (dummy credentials, placeholder zips) once per session.

Runs only where terraform and the offline aws provider are installed (CI's machine); checkov
runs in `make infra-check`, these assert what the design promises on the plans themselves.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "infra" / "terraform" / "check.sh"
PLUGIN_DIR = Path(os.environ.get("TF_PLUGIN_DIR", "/opt/tf-plugins"))
FUNCTIONS = {"api", "round_keeper", "outbox_relay", "buy_tokens", "burn", "burn_report"}

pytestmark = pytest.mark.skipif(
    shutil.which("terraform") is None or not PLUGIN_DIR.is_dir(),
    reason="terraform or its offline provider plugins are not installed")


@pytest.fixture(scope="module")
def plans(tmp_path_factory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("plans")

    def plan(env: str) -> dict:
        subprocess.run([str(CHECK), "plan", env, str(out / f"{env}.json")], check=True,
                       cwd=ROOT, capture_output=True, timeout=240)
        return json.loads((out / f"{env}.json").read_text())

    with ThreadPoolExecutor(2) as pool:
        return dict(zip(("aws", "localstack"), pool.map(plan, ("aws", "localstack")), strict=True))


def changes(plan: dict, type_: str) -> dict[str, dict]:
    """address -> {after, unknown} of every planned resource of a type."""
    return {r["address"]: {"after": r["change"]["after"] or {},
                           "unknown": r["change"].get("after_unknown") or {}}
            for r in plan["resource_changes"] if r["type"] == type_}


def by_key(resources: dict[str, dict]) -> dict[str, dict]:
    return {address.rsplit('["', 1)[-1].rstrip('"]'): r for address, r in resources.items()}


def test_terraform_files_are_formatted():
    result = subprocess.run(["terraform", "fmt", "-check", "-recursive", "infra/terraform"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"not formatted: {result.stdout}"


@pytest.mark.parametrize("env", ["aws", "localstack"])
def test_every_function_is_python311_in_the_vpc_with_a_dead_letter_queue(plans, env):
    functions = by_key(changes(plans[env], "aws_lambda_function"))
    assert set(functions) == FUNCTIONS
    for name, f in functions.items():
        assert f["after"]["runtime"] == "python3.11", name
        assert f["after"]["vpc_config"] and f["unknown"]["vpc_config"][0]["subnet_ids"], name
        assert f["unknown"]["dead_letter_config"][0]["target_arn"] is True, name
        assert f["after"]["tracing_config"] == [{"mode": "Active"}], name
        assert f["unknown"]["kms_key_arn"] is True, name


@pytest.mark.parametrize("env", ["aws", "localstack"])
def test_only_buy_tokens_and_burn_get_the_chain_layer(plans, env):
    # The layer ARNs are unknown until apply; the functions module's own map is what it uses.
    layers = plans[env]["planned_values"]["outputs"]["function_layers"]["value"]
    assert layers == {name: ["ember", "base", "chain"] if name in {"buy_tokens", "burn"}
                      else ["ember", "base"] for name in FUNCTIONS}


def test_msk_triggers_report_partial_failures_with_finite_retries_and_a_destination(plans):
    mappings = by_key(changes(plans["aws"], "aws_lambda_event_source_mapping"))
    assert set(mappings) == {"buy_tokens", "burn"}
    topics = {"buy_tokens": ["ember.commission"], "burn": ["ember.buybacks"]}
    for name, m in mappings.items():
        after = m["after"]
        assert after["topics"] == topics[name]
        assert after["function_response_types"] == ["ReportBatchItemFailures"]
        assert after["amazon_managed_kafka_event_source_config"] == [{"consumer_group_id": name}]
        assert 0 <= after["maximum_retry_attempts"] <= 10
        assert after["batch_size"] > 0
        assert m["unknown"]["destination_config"][0]["on_failure"][0]["destination_arn"] is True
        assert after["provisioned_poller_config"][0]["minimum_pollers"] >= 1


def test_localstack_has_no_pro_only_services(plans):
    types = {r["type"] for r in plans["localstack"]["resource_changes"]}
    pro_only = {"aws_db_instance", "aws_db_proxy", "aws_elasticache_replication_group",
                "aws_msk_serverless_cluster", "aws_cognito_user_pool", "aws_wafv2_web_acl",
                "aws_lambda_event_source_mapping"}
    assert types & pro_only == set()


@pytest.mark.parametrize("env", ["aws", "localstack"])
def test_schedules(plans, env):
    rules = by_key(changes(plans[env], "aws_cloudwatch_event_rule"))
    expressions = {name: r["after"]["schedule_expression"] for name, r in rules.items()}
    assert expressions["round_keeper"] == "rate(1 minute)"
    assert expressions["outbox_relay"] == "rate(1 minute)"
    assert expressions["burn_report"].startswith("cron(")
    assert expressions["buy_tokens"] == "rate(5 minutes)"  # the max-delay buy without new rounds


@pytest.mark.parametrize("env", ["aws", "localstack"])
def test_wallet_key_is_secp256k1_for_signing_only(plans, env):
    key = changes(plans[env], "aws_kms_key")["module.wallet.aws_kms_key.signing"]
    assert key["after"]["customer_master_key_spec"] == "ECC_SECG_P256K1"
    assert key["after"]["key_usage"] == "SIGN_VERIFY"
    (switch,) = changes(plans[env], "aws_ssm_parameter").values()
    assert switch["after"]["value"] == "off"


@pytest.mark.parametrize("env", ["aws", "localstack"])
def test_reports_bucket_is_kms_encrypted_private_and_versioned(plans, env):
    encryption = changes(plans[env], "aws_s3_bucket_server_side_encryption_configuration")
    rule = encryption["module.reports.aws_s3_bucket_server_side_encryption_configuration.reports"]
    default = rule["after"]["rule"][0]["apply_server_side_encryption_by_default"][0]
    assert default["sse_algorithm"] == "aws:kms"
    assert rule["unknown"]["rule"][0]["apply_server_side_encryption_by_default"][0]["kms_master_key_id"]
    block = changes(plans[env], "aws_s3_bucket_public_access_block")[
        "module.reports.aws_s3_bucket_public_access_block.reports"]["after"]
    assert all(block[k] for k in ("block_public_acls", "block_public_policy",
                                  "ignore_public_acls", "restrict_public_buckets"))
    versioning = changes(plans[env], "aws_s3_bucket_versioning")[
        "module.reports.aws_s3_bucket_versioning.reports"]["after"]
    assert versioning["versioning_configuration"][0]["status"] == "Enabled"


def test_database_is_encrypted_private_postgres15_behind_a_tls_proxy(plans):
    (db,) = changes(plans["aws"], "aws_db_instance").values()
    after = db["after"]
    assert after["engine"] == "postgres" and after["engine_version"].startswith("15")
    assert after["storage_encrypted"] and not after["publicly_accessible"]
    assert after["manage_master_user_password"] is True
    (proxy,) = changes(plans["aws"], "aws_db_proxy").values()
    assert proxy["after"]["require_tls"] is True


def test_redis_requires_tls_and_an_auth_token(plans):
    (cache,) = changes(plans["aws"], "aws_elasticache_replication_group").values()
    assert cache["after"]["transit_encryption_enabled"] is True
    assert cache["after"]["at_rest_encryption_enabled"] in (True, "true")  # a string in 5.x
    assert cache["unknown"]["auth_token"] is True


def test_api_has_a_cognito_authorizer_and_the_three_groups(plans):
    (authorizer,) = changes(plans["aws"], "aws_api_gateway_authorizer").values()
    assert authorizer["after"]["type"] == "COGNITO_USER_POOLS"
    groups = {g["after"]["name"] for g in changes(plans["aws"], "aws_cognito_user_group").values()}
    assert groups == {"player", "operator", "finance"}
    methods = by_key(changes(plans["aws"], "aws_api_gateway_method"))
    assert methods["v1_any"]["after"]["authorization"] == "COGNITO_USER_POOLS"
    assert methods["round_any"]["after"]["authorization"] == "COGNITO_USER_POOLS"


@pytest.mark.parametrize("env", ["aws", "localstack"])
def test_alarms_cover_errors_dead_letters_lag_and_gas(plans, env):
    alarms = [a["after"] for a in changes(plans[env], "aws_cloudwatch_metric_alarm").values()]
    metrics = {(a["namespace"], a["metric_name"]) for a in alarms}
    assert {("AWS/Lambda", "Errors"), ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
            ("AWS/Lambda", "OffsetLag"), ("Ember", "WalletGasBalanceWei")} <= metrics
    groups = changes(plans[env], "aws_cloudwatch_log_group").values()
    assert all(g["after"]["retention_in_days"] and g["unknown"].get("kms_key_id") for g in groups)
