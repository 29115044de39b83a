"""The Knative manifests: every overlay renders and validates offline, and the services only
set variables the application reads."""

from __future__ import annotations

import copy
import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

from ember.domain.events import BUYBACKS_TOPIC, COMMISSION_TOPIC, dead_letter_topic
from ember.runtime.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
KNATIVE = ROOT / "infra" / "knative"

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None and not Path("/usr/bin/kubectl").exists(),
                                reason="kubectl is needed for `kubectl kustomize`")


def _module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"ember_infra_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


pytest.importorskip("kubernetes_validate", reason="the `infra` extra (make knative-check installs it)")
validate = _module(KNATIVE / "validate.py")
serve = _module(KNATIVE / "serve.py")
OVERLAYS = validate.overlays([])


@pytest.fixture(scope="module", params=[o.name for o in OVERLAYS])
def rendered(request) -> tuple[Path, list[dict]]:
    overlay = KNATIVE / "overlays" / request.param
    return overlay, validate.build(overlay)


def _of(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


def _services(objects: list[dict]) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects
            if o["kind"] == "Service" and o["apiVersion"] == "serving.knative.dev/v1"}


def _container(service: dict) -> dict:
    return service["spec"]["template"]["spec"]["containers"][0]


def test_there_is_a_dev_and_a_prod_overlay():
    assert {"dev", "prod"} <= {o.name for o in OVERLAYS}


def test_every_object_validates(rendered):
    overlay, objects = rendered
    assert validate.check(overlay, objects) == []


def test_the_schemas_refuse_what_knative_would(rendered):
    _, objects = rendered
    service = copy.deepcopy(next(iter(_services(objects).values())))
    service["spec"]["template"]["spec"]["containerConcurency"] = 1  # a typo
    kafka = copy.deepcopy(_of(objects, "KafkaSource")[0])
    kafka["spec"]["delivery"]["backoffPolicy"] = "fibonacci"
    ping = copy.deepcopy(_of(objects, "PingSource")[0])
    del ping["spec"]["sink"]
    config = copy.deepcopy(_of(objects, "ConfigMap")[0])
    config["data"]["EMBER_DB_POOL_SIZE"] = 2  # ConfigMap values are strings
    for broken in (service, kafka, ping, config):
        assert list(validate.errors(broken)), broken["kind"]


def test_the_six_functions_run_one_request_per_pod(rendered):
    _, objects = rendered
    services = _services(objects)
    assert set(services) == {"ember-api", "ember-buy-tokens", "ember-burn", "ember-keeper",
                             "ember-relay", "ember-burn-report"}
    assert services["ember-api"]["spec"]["template"]["spec"]["containerConcurrency"] == 1
    handlers = {}
    for name, service in services.items():
        env = {e["name"]: e for e in _container(service).get("env", [])}
        handlers[name] = env["EMBER_HANDLER"]["value"]
        assert handlers[name] in serve.HANDLERS
    assert len(set(handlers.values())) == len(handlers)
    assert len({_container(s)["image"] for s in services.values()}) == 1  # one image


def test_services_set_only_variables_the_app_reads(rendered):
    _, objects = rendered
    known = {f.validation_alias for f in Settings.model_fields.values() if f.validation_alias}
    known |= set(serve.IMAGE_ENV)
    configs = {c["metadata"]["name"]: c for c in _of(objects, "ConfigMap")}
    for name, service in _services(objects).items():
        container = _container(service)
        names = {e["name"] for e in container.get("env", [])}
        for source in container.get("envFrom", []):
            names |= set(configs[source["configMapRef"]["name"]].get("data", {}))
        assert names - known == set(), f"{name} sets variables no setting reads"


def test_secrets_come_from_secret_key_refs_only(rendered):
    _, objects = rendered
    sensitive = ("DATABASE_URL", "EMBER_JWT_SECRET", "EMBER_WEBHOOK_SECRET", "EMBER_WALLET_PRIVATE_KEY",
                 "EMBER_WALLET_SECRET_ID", "EMBER_WALLET_KMS_KEY_ID", "EMBER_CEX_API_KEY",
                 "EMBER_CEX_API_SECRET", "EMBER_CEX_WITHDRAW_ADDRESS")
    for config in _of(objects, "ConfigMap"):
        assert not set(config.get("data", {})) & set(sensitive)
    for name, service in _services(objects).items():
        env = {e["name"]: e for e in _container(service).get("env", [])}
        assert "secretKeyRef" in env["DATABASE_URL"]["valueFrom"], name
        for variable in set(env) & set(sensitive):
            assert "value" not in env[variable], f"{name} has {variable} in clear"


def test_kafka_sources_feed_the_consumers_with_a_dead_letter_sink(rendered):
    _, objects = rendered
    sources = {s["spec"]["sink"]["ref"]["name"]: s["spec"] for s in _of(objects, "KafkaSource")}
    assert sources["ember-buy-tokens"]["topics"] == [COMMISSION_TOPIC]
    assert sources["ember-burn"]["topics"] == [BUYBACKS_TOPIC]
    sinks = {s["metadata"]["name"]: s["spec"] for s in _of(objects, "KafkaSink")}
    for consumer, spec in (("buy_tokens", sources["ember-buy-tokens"]), ("burn", sources["ember-burn"])):
        assert spec["consumerGroup"]
        delivery = spec["delivery"]
        assert delivery["retry"] >= 1 and delivery["backoffPolicy"] and delivery["backoffDelay"]
        assert sinks[delivery["deadLetterSink"]["ref"]["name"]]["topic"] == dead_letter_topic(consumer)


def test_ping_sources_drive_the_scheduled_functions(rendered):
    _, objects = rendered
    services = _services(objects)
    schedules = {p["spec"]["sink"]["ref"]["name"]: p["spec"]["schedule"] for p in _of(objects, "PingSource")}
    assert schedules == {"ember-keeper": "* * * * *", "ember-relay": "* * * * *",
                         "ember-burn-report": schedules["ember-burn-report"],
                         # the max-delay buy when no settled round sends commission.accrued
                         "ember-buy-tokens": "*/5 * * * *"}
    assert schedules["ember-burn-report"].split()[2:] == ["*", "*", "*"]  # daily
    assert set(schedules) <= set(services)


def test_the_image_is_multi_stage_non_root_with_a_healthcheck():
    dockerfile = (KNATIVE / "Dockerfile").read_text()
    assert dockerfile.count("\nFROM ") + dockerfile.startswith("FROM ") >= 2
    assert "python:3.11-slim" in dockerfile
    user = [line for line in dockerfile.splitlines() if line.startswith("USER ")]
    assert user and not user[-1].split()[1].startswith(("root", "0"))
    assert "HEALTHCHECK" in dockerfile and 'ENTRYPOINT ["python", "/app/serve.py"]' in dockerfile
