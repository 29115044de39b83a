"""Event schemas and the AsyncAPI document: they parse, agree, and refuse what is invalid."""

import copy
import json
import uuid
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from ember.adapters.schemas import InvalidEvent, schema_files, schema_for, validate
from ember.domain.events import TOPICS, dead_letter_topic

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PACKAGED = ROOT / "layers" / "ember" / "ember" / "schemas"

ROUND = str(uuid.uuid4())
COMMISSION = {"id": str(uuid.uuid4()), "type": "commission.accrued", "version": 1,
              "occurred_at": "2030-01-01T00:01:00+00:00",
              "payload": {"round_id": ROUND, "market_id": "flip", "amount": 42, "currency": "USDT"}}
HASH = "0x" + "ab" * 32
DRAFTS = [
    {"type": "tokens.bought", "payload": {
        "buyback_id": ROUND, "venue": "dex", "spent": 1_000_000, "currency": "USDT",
        "tokens_received": "2500000000000000000000", "average_price": "0.0004",
        "reference_price": "0.000398", "slippage_bps": 50, "tx_hashes": [HASH, HASH],
        "client_order_id": None}},
    {"type": "tokens.burned", "payload": {
        "buyback_id": ROUND, "burned": "2000000000000000000000",
        "dividend": "500000000000000000000", "burn_tx_hash": HASH, "dividend_tx_hash": HASH}},
    {"type": "tokens.burned", "payload": {
        "buyback_id": ROUND, "burned": "7", "dividend": "0", "burn_tx_hash": HASH,
        "dividend_tx_hash": None}},
]


def asyncapi() -> dict:
    return yaml.safe_load((DOCS / "asyncapi.yaml").read_text())


def refs(node, found=None) -> list[str]:
    found = [] if found is None else found
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            found.append(node["$ref"])
        for value in node.values():
            refs(value, found)
    elif isinstance(node, list):
        for value in node:
            refs(value, found)
    return found


def pointer(document, fragment: str):
    node = document
    for part in filter(None, fragment.split("/")):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_docs_mirror_the_schemas_shipped_in_the_package():
    packaged = {p.name: p.read_bytes() for p in PACKAGED.glob("*.json")}
    documented = {p.name: p.read_bytes() for p in (DOCS / "events").glob("*.json")}

    assert documented == packaged, "copy layers/ember/ember/schemas/*.json to docs/events/"
    assert set(schema_files()) == set(packaged)


@pytest.mark.parametrize("name", sorted(p.name for p in PACKAGED.glob("*.json")))
def test_every_schema_is_a_valid_draft_2020_12_schema(name):
    schema = schema_files()[name]

    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith("/" + name)


def test_the_asyncapi_document_parses_and_every_reference_resolves():
    document = asyncapi()
    assert document["asyncapi"] == "3.0.0"

    for ref in refs(document):
        target, _, fragment = ref.partition("#")
        if not target:
            pointer(document, fragment)  # KeyError when the local component is missing
            continue
        path = (DOCS / target).resolve()
        assert path.is_file(), f"{ref} points at no file"
        pointer(json.loads(path.read_text()), fragment)


def test_the_asyncapi_document_covers_every_topic_event_type_and_schema():
    document = asyncapi()
    channels = document["channels"]
    addresses = {channel["address"] for channel in channels.values()}
    assert addresses == {*TOPICS, dead_letter_topic("{consumer}")}

    messages = document["components"]["messages"]
    referenced = {}
    for message in messages.values():
        if "schema" in message["payload"]:
            schema = json.loads((DOCS / message["payload"]["schema"]["$ref"]).read_text())
            referenced[message["name"]] = schema["properties"]["type"]["const"]
            assert message["bindings"]["kafka"]["key"], "every event names its key"
    assert all(name == event_type for name, event_type in referenced.items())
    # burn_report.v1.json describes a finance report (S3, the API), not a Kafka event.
    event_schemas = {name for name in schema_files() if name not in ("envelope.json", "burn_report.v1.json")}
    assert {f"{t}.v1.json" for t in referenced} == event_schemas


def test_operations_send_or_receive_messages_of_their_own_channel():
    document = asyncapi()
    for name, operation in document["operations"].items():
        channel = operation["channel"]["$ref"]
        assert operation["action"] in ("send", "receive"), name
        for message in operation["messages"]:
            assert message["$ref"].startswith(channel + "/messages/"), name


def test_a_valid_envelope_passes():
    validate(COMMISSION)
    assert schema_for("commission.accrued", 1)["title"] == "commission.accrued v1"


@pytest.mark.parametrize("draft", DRAFTS, ids=lambda d: d["type"])
def test_the_drafted_buyback_events_have_working_schemas(draft):
    validate({"id": str(uuid.uuid4()), "version": 1,
              "occurred_at": "2030-01-01T00:01:00.123456+00:00", **draft})


@pytest.mark.parametrize(("change", "named"), [
    (lambda e: e.pop("id"), "'id' is a required property"),
    (lambda e: e.update(id="round-1"), "id: 'round-1' is not a 'uuid'"),
    (lambda e: e.update(occurred_at="2030-01-01 00:01"),
     "occurred_at: '2030-01-01 00:01' is not a 'date-time'"),
    (lambda e: e.update(occurred_at="2030-01-01T00:01:00"), "occurred_at"),
    (lambda e: e.update(extra=True), "'extra' was unexpected"),
    (lambda e: e.update(type="commission.reversed"), "no schema for 'commission.reversed' version 1"),
    (lambda e: e.update(version=2), "no schema for 'commission.accrued' version 2"),
    (lambda e: e["payload"].update(amount=0), "payload.amount: 0 is less than the minimum of 1"),
    (lambda e: e["payload"].update(amount=1.5), "payload.amount: 1.5 is not of type 'integer'"),
    (lambda e: e["payload"].update(currency="EUR"), "payload.currency"),
    (lambda e: e["payload"].pop("round_id"), "payload: 'round_id' is a required property"),
    (lambda e: e["payload"].update(note="x"), "payload: Additional properties are not allowed"),
])
def test_an_invalid_envelope_is_refused_naming_the_problem(change, named):
    envelope = copy.deepcopy(COMMISSION)
    change(envelope)

    with pytest.raises(InvalidEvent) as refused:
        validate(envelope)

    assert named in refused.value.detail
    assert refused.value.code == "invalid_event"


def test_a_refunded_round_carries_no_commission():
    refunded = {**COMMISSION, "type": "round.refunded", "payload": {
        "round_id": ROUND, "market_id": "flip", "outcome": None, "total": 10, "paid_out": 0,
        "refunded": 10, "commission": 3}}

    with pytest.raises(InvalidEvent, match="payload.commission: 0 was expected"):
        validate(refunded)
