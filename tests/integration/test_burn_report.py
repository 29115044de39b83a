"""Finance burn reports (issue #7) on real data: rounds settled with commission, the real
buy-back and burn services on the Hardhat node; every figure of the report recomputed here
from the ledger tables and from the chain by other means; another holder's burns (one in the
same block as a wallet burn) shown and never flagged; an injected ledger-only burn and a
wallet burn outside the ledger flagged first in every format; S3 through moto; the finance
API routes and their roles.

The story (~45 s on the wall clock and the chain) is told once for the module, on a database
of its own (`story`, `story_sql`), read-only once told. The one test that writes rows (the
injected ledger-only burn) runs on its own copy of that database (`own_story`, `own_sql`);
reports go to each test's own directory or moto bucket."""

from __future__ import annotations

import csv
import io
import json
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from importlib import resources
from typing import Any

import jsonschema
import psycopg
import pytest
from psycopg.rows import dict_row

from ember.adapters.reports.renderers import render_all
from ember.adapters.reports.storage import LocalReportStorage, S3ReportStorage
from ember.domain.burn_report import CUSTOM, Period
from ember.runtime.report_wiring import publish_report
from tests.conftest import ROOT
from tests.e2e.buyback_stack import PLAN
from tests.integration.report_fixtures import (
    ROUND_COMMISSION,
    TREASURY_BURN_ALONE,
    TREASURY_BURN_BESIDE,
    UNKNOWN_WALLET_BURN,
    Story,
    Told,
    app_on,
    clone_database,
    tell_story_once,
)
from tests.support import make_token

pytestmark = pytest.mark.integration

SCHEMA = json.loads((resources.files("ember") / "schemas" / "burn_report.v1.json").read_text())
ZERO = "0x0000000000000000000000000000000000000000"
FAKE_BURN_TX = "0x" + "fa" * 32
FAKE_BURNED = 7_777_777_777


def validate(document: dict) -> None:
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(
        json.loads(json.dumps(document)))


@pytest.fixture(scope="module")
def told(chain_rpc_url, databases, stack, tmp_path_factory) -> Iterator[Told]:
    """The story, told once for the module on a fresh database of its own."""
    yield from tell_story_once(chain_rpc_url, databases, stack, tmp_path_factory.mktemp("story"))


@pytest.fixture(scope="module")
def story(told) -> Story:
    """The module's story; its database is read-only (a test that writes uses `own_story`)."""
    return told.story


@pytest.fixture(scope="module")
def story_sql(story) -> Iterator[psycopg.Connection]:
    """A raw autocommit connection to the story's database, for reading what it holds."""
    with psycopg.connect(story.app.settings.database_url, autocommit=True,
                         row_factory=dict_row) as conn:
        yield conn


@pytest.fixture
def own_database_url(told, databases) -> Iterator[str]:
    """This test's own copy of the story's database, as the story left it."""
    url = clone_database(databases, told.pristine_url)
    yield url
    databases.drop(url)


@pytest.fixture
def own_story(told, own_database_url, tmp_path) -> Iterator[Story]:
    """The story with an app of its own on `own_database_url`: for tests that write rows."""
    app = app_on(told.story.app.settings, database_url=own_database_url,
                 reports_dir=tmp_path / "reports")
    yield replace(told.story, app=app, buybacks=list(told.story.buybacks))
    app.close()


@pytest.fixture
def own_sql(own_database_url) -> Iterator[psycopg.Connection]:
    """A raw autocommit connection to this test's own copy of the story's database."""
    with psycopg.connect(own_database_url, autocommit=True, row_factory=dict_row) as conn:
        yield conn


# --- independent recomputation -----------------------------------------------------------

def ledger_figures(sql, start: datetime, end: datetime) -> dict[str, Any]:
    """The period's ledger figures, row by row in Python (not the report's SQL)."""
    inside = lambda moment: start <= moment < end  # noqa: E731
    transfers = sql.execute("SELECT * FROM transfers").fetchall()

    def balance(account: str, before: datetime) -> int:
        return sum((t["amount"] if t["credit_account"] == account else -t["amount"])
                   for t in transfers if account in (t["credit_account"], t["debit_account"])
                   and t["created_at"] < before)

    rounds = [r for r in sql.execute("SELECT * FROM rounds WHERE status = 'settled'")
              if inside(r["resolved_at"])]
    buybacks = [b for b in sql.execute("SELECT * FROM buybacks WHERE status = 'bought'")
                if inside(b["finished_at"])]
    tokens = [t for t in sql.execute("SELECT * FROM token_transfers") if inside(t["created_at"])]
    return {
        "rounds": len(rounds),
        "accrued": sum(t["amount"] for t in transfers if t["credit_account"] == "commission"
                       and t["kind"] == "commission" and inside(t["created_at"])),
        "pool": (balance("commission", start), balance("commission", end)),
        "in_flight": (balance("buybacks:in_flight", start), balance("buybacks:in_flight", end)),
        "spent": sum(b["spent"] for b in buybacks),
        "buybacks": {str(b["id"]): b for b in buybacks},
        "burned": sum(int(t["amount"]) for t in tokens if t["kind"] == "burned"),
        "dividends": sum(int(t["amount"]) for t in tokens if t["kind"] == "dividend"),
    }


def chain_figures(story: Story, start: datetime, end: datetime) -> dict[str, Any]:
    """Blocks found by walking them one by one, supply read at them, events through web3's
    contract event API (not the report's eth_getLogs), burns told apart by their `from`
    argument against the test's own wallet key."""
    w3, deployed = story.deployed.w3, story.deployed
    latest = w3.eth.block_number
    stamps = {n: w3.eth.get_block(n)["timestamp"] for n in range(deployed.deployment.block, latest + 1)}
    start_block = max(n for n, ts in stamps.items() if ts < start.timestamp())
    end_block = max(n for n, ts in stamps.items() if ts < end.timestamp())
    burns = deployed.token.events.Transfer.get_logs(from_block=start_block + 1, to_block=end_block,
                                                    argument_filters={"to": ZERO})
    deposits = deployed.pool.events.Deposited.get_logs(from_block=start_block + 1,
                                                       to_block=end_block)
    tx = lambda e: "0x" + e["transactionHash"].hex().removeprefix("0x")  # noqa: E731
    wallet = deployed.wallet.address
    return {"start_block": start_block, "end_block": end_block,
            "supply_start": deployed.total_supply(start_block),
            "supply_end": deployed.total_supply(end_block),
            "burns": {tx(e): e["args"]["value"] for e in burns},
            "senders": {tx(e): e["args"]["from"] for e in burns},
            "wallet_burns": {tx(e): e["args"]["value"] for e in burns if e["args"]["from"] == wallet},
            "other_burns": {tx(e): e["args"]["value"] for e in burns if e["args"]["from"] != wallet},
            "burn_blocks": sorted({e["blockNumber"] for e in burns}),
            "deposits": {"0x" + e["transactionHash"].hex().removeprefix("0x"): e["args"]["amount"]
                         for e in deposits}}


def report_for(story: Story, start: datetime, end: datetime, tmp_path) -> dict[str, Any]:
    written = publish_report(story.app, Period(CUSTOM, start, end),
                             storage=LocalReportStorage(tmp_path / "out"))
    return written.document


def assert_every_figure(document: dict, sql, story: Story, start: datetime, end: datetime,
                        ledger_only: frozenset[str] = frozenset(),
                        wallet_only: frozenset[str] = frozenset()) -> None:
    """`ledger_only`: burn tx hashes only the ledger knows; `wallet_only`: the wallet's burns
    on chain the ledger does not know."""
    ledger, chain = ledger_figures(sql, start, end), chain_figures(story, start, end)
    assert document["rounds"]["settled"] == ledger["rounds"]
    commission = document["commission"]
    assert commission["accrued"] == ledger["accrued"]
    assert (commission["pool_opening"], commission["pool_closing"]) == ledger["pool"]
    assert (commission["in_flight_opening"], commission["in_flight_closing"]) == ledger["in_flight"]
    assert commission["spent_on_buybacks"] == ledger["spent"]
    # commission accrued = spent on buy-backs + what stayed in the pool (+ in flight)
    assert ledger["accrued"] == (ledger["spent"] + ledger["pool"][1] - ledger["pool"][0]
                                 + ledger["in_flight"][1] - ledger["in_flight"][0])

    assert {b["id"] for b in document["buybacks"]} == set(ledger["buybacks"])
    for line in document["buybacks"]:
        row = ledger["buybacks"][line["id"]]
        spent, received = int(row["spent"]), int(row["tokens_received"])
        reference = Fraction(int(row["reference_num"]), int(row["reference_den"]))
        assert (line["venue"], line["spent"], int(line["tokens_received"])) == (row["venue"], spent,
                                                                               received)
        assert Fraction(line["average_price_exact"]) == Fraction(spent, received)
        assert Fraction(line["reference_price_exact"]) == reference
        expected = spent * reference.denominator // reference.numerator
        assert Fraction(line["slippage_bps_exact"]) == Fraction((expected - received) * 10_000, expected)
        assert line["tx_hashes"] == list(row["tx_hashes"])
        receipt = story.deployed.w3.eth.get_transaction_receipt(row["tx_hashes"][-1])
        assert receipt["status"] == 1

    assert (document["chain"]["start_block"], document["chain"]["end_block"]) == (
        chain["start_block"], chain["end_block"])
    assert int(document["chain"]["supply_start"]) == chain["supply_start"]
    assert int(document["chain"]["supply_end"]) == chain["supply_end"]
    assert int(document["totals"]["burned"]) == ledger["burned"]
    assert int(document["totals"]["dividends"]) == ledger["dividends"]
    # Every burn on chain, the wallet's and other holders', each marked whose it is.
    assert {e["tx_hash"]: int(e["amount"]) for e in document["chain"]["burn_events"]} == chain["burns"]
    assert {e["tx_hash"]: e["from"] for e in document["chain"]["burn_events"]} == chain["senders"]
    assert {e["tx_hash"] for e in document["chain"]["burn_events"] if e["by"] == "wallet"} == set(
        chain["wallet_burns"])
    assert document["chain"]["wallet"] == story.deployed.wallet.address
    assert int(document["chain"]["burned_by_wallet"]) == sum(chain["wallet_burns"].values())
    assert int(document["chain"]["burned_by_other_holders"]) == sum(chain["other_burns"].values())
    assert document["chain"]["burns_by_other_holders"] == len(chain["other_burns"])
    treasury = story.treasury_burned(chain["start_block"], chain["end_block"])
    assert chain["other_burns"] == {b.tx_hash: b.amount for b in treasury}
    assert {e["tx_hash"]: int(e["amount"]) for e in document["chain"]["deposit_events"]} == chain[
        "deposits"]
    # The ledger's burns are the wallet's (`burned_by_wallet`), not other holders'.
    assert {b["burn_tx_hash"] for b in document["burns"]} == (
        set(chain["wallet_burns"]) - wallet_only) | ledger_only
    checks = {c["name"]: (int(c["left"]), int(c["right"])) for c in document["reconciliation"]["checks"]}
    assert checks["burned"] == (ledger["burned"], sum(chain["wallet_burns"].values()))
    assert checks["burn_events"] == (chain["supply_start"] - chain["supply_end"],
                                     sum(chain["burns"].values()))
    assert {b["dividend_tx_hash"] for b in document["burns"] if b["dividend_tx_hash"]} == set(
        chain["deposits"])
    fall = chain["supply_start"] - chain["supply_end"]
    assert fall == sum(chain["burns"].values())  # the wallet's and other holders' burns
    # The supply series steps at every burn; after a block's last burn it is that block's supply.
    series = [(p["block"], int(p["supply"])) for p in document["supply_series"]]
    assert len(series) == 2 + len(chain["burns"])
    assert series[0] == (chain["start_block"], chain["supply_start"])
    assert series[-1] == (chain["end_block"], chain["supply_end"])
    last_in_block = dict(series[1:-1])
    assert sorted(last_in_block) == chain["burn_blocks"]
    assert all(supply == story.deployed.total_supply(block) for block, supply in last_in_block.items())
    assert int(document["chain"]["minted"]) == PLAN.token_supply
    assert int(document["totals"]["cumulative_burned"]) == PLAN.token_supply - chain["supply_end"]
    assert Fraction(document["totals"]["net_deflation_exact"]) == Fraction(fall, chain["supply_start"])


# --- the report, reconciled --------------------------------------------------------------

def test_the_second_half_reconciles_and_every_figure_matches_ledger_and_chain(story, story_sql,
                                                                              tmp_path):
    document = report_for(story, story.middle, story.ended, tmp_path)
    validate(document)

    assert document["reconciliation"]["mismatches"] == []
    assert document["reconciliation"]["reconciled"] is True
    assert_every_figure(document, story_sql, story, story.middle, story.ended)
    assert document["rounds"]["settled"] == 2
    assert document["commission"]["accrued"] == 2 * ROUND_COMMISSION
    assert document["commission"]["pool_closing"] == ROUND_COMMISSION  # round 3's, not bought yet
    assert [b["id"] for b in document["buybacks"]] == [str(story.buybacks[1])]
    assert int(document["totals"]["burned"]) > 0 and int(document["totals"]["dividends"]) > 0


def test_the_whole_story_reconciles_with_both_burns(story, story_sql, tmp_path):
    document = report_for(story, story.started, story.ended, tmp_path)
    validate(document)

    assert document["reconciliation"]["mismatches"] == []
    assert_every_figure(document, story_sql, story, story.started, story.ended)
    assert [b["id"] for b in document["buybacks"]] == [str(b) for b in story.buybacks]
    # Both wallet burns, and both of the treasury's (no longer every burn event is the wallet's).
    events = document["chain"]["burn_events"]
    assert sorted(e["by"] for e in events) == ["other_holder"] * 2 + ["wallet"] * 2
    assert [e["block"] for e in events] == sorted(e["block"] for e in events)  # chain order
    assert int(document["chain"]["burned_by_other_holders"]) == TREASURY_BURN_ALONE + TREASURY_BURN_BESIDE
    assert document["chain"]["burns_by_other_holders"] == 2


def test_the_first_half_holds_only_the_first_burn(story, story_sql, tmp_path):
    document = report_for(story, story.started, story.middle, tmp_path)

    assert document["reconciliation"]["mismatches"] == []
    assert_every_figure(document, story_sql, story, story.started, story.middle)
    assert [b["id"] for b in document["buybacks"]] == [str(story.buybacks[0])]
    # The treasury burned in a block of its own: shown, not flagged.
    on_chain = document["chain"]
    assert (on_chain["burned_by_other_holders"], on_chain["burns_by_other_holders"]) == (
        str(TREASURY_BURN_ALONE), 1)


def test_another_holders_burn_in_the_wallets_block_is_shown_not_flagged(story, story_sql, tmp_path):
    document = report_for(story, story.middle, story.ended, tmp_path)
    validate(document)

    # The treasury's burn was mined in the block of the wallet's second burn.
    (beside,) = story.treasury_burned(document["chain"]["start_block"], document["chain"]["end_block"])
    assert beside.block == story.wallet_burn_blocks[1]
    events = document["chain"]["burn_events"]
    assert sorted((e["block"], e["by"], e["from"]) for e in events) == [
        (beside.block, "other_holder", story.deployed.deployer.address),
        (beside.block, "wallet", story.deployed.wallet.address)]
    # Ember's books are right: no mismatch, and the treasury's burn is a figure of its own.
    assert document["reconciliation"]["mismatches"] == []
    assert all(c["ok"] for c in document["reconciliation"]["checks"])
    assert document["chain"]["burned_by_other_holders"] == str(TREASURY_BURN_BESIDE)
    assert document["chain"]["burns_by_other_holders"] == 1
    assert int(document["chain"]["supply_fall"]) == (
        int(document["totals"]["burned"]) + TREASURY_BURN_BESIDE)

    files = render_all(document)
    rows = list(csv.DictReader(io.StringIO(files["csv"].decode())))
    assert "mismatch" not in {r["record"] for r in rows}
    assert [(r["id"], r["burned_wei"], r["burn_tx_hash"], r["burn_block"]) for r in rows
            if r["record"] == "other_burn"] == [
        (story.deployed.deployer.address, str(TREASURY_BURN_BESIDE), beside.tx_hash, str(beside.block))]
    assert [(r["id"], r["burned_wei"], r["count"]) for r in rows if r["record"] == "total"] == [
        ("burned_by_other_holders", str(TREASURY_BURN_BESIDE), "1")]

    html = files["html"].decode()
    assert 'id="mismatches"' not in html and 'id="reconciled"' in html
    assert beside.tx_hash in html.split('id="other-holders"')[1].split("</table>")[0]

    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(files["pdf"])).pages)
    assert "mismatch(es)" not in text and "burned by other holders" in text


def inject_ledger_only_burn(sql, story: Story) -> None:
    """A burn in the ledger that never happened on chain (inserted: the tables are append-only)."""
    assert story.middle is not None and story.ended is not None
    fake, long_ago = uuid.uuid4(), story.middle - timedelta(days=30)
    inside = story.middle + (story.ended - story.middle) / 2
    sql.execute(
        "INSERT INTO buybacks (id, status, venue, spend, currency, reference_num, reference_den,"
        " reference_source, min_tokens_out, planned_at, tokens_received, spent, tx_hashes, finished_at)"
        " VALUES (%s, 'bought', 'dex', 1, 'USDT', 1, 1, 'fake', 1, %s, %s, 1, %s, %s)",
        (fake, long_ago, FAKE_BURNED, ["0x" + "0b" * 32], long_ago))
    sql.execute("INSERT INTO token_transfers (id, debit_account, credit_account, amount, kind,"
                " buyback_id, created_at) VALUES (%s, 'market', 'wallet', %s, 'bought', %s, %s)",
                (uuid.uuid4(), FAKE_BURNED, fake, long_ago))
    sql.execute("INSERT INTO token_transfers (id, debit_account, credit_account, amount, kind,"
                " buyback_id, created_at) VALUES (%s, 'wallet', 'burned', %s, 'burned', %s, %s)",
                (uuid.uuid4(), FAKE_BURNED, fake, inside))
    sql.execute(
        "INSERT INTO burns (buyback_id, status, burned, dividend, burn_share_bps, burn_tx_hash,"
        " burn_block, supply_before, supply_after, created_at, finished_at)"
        " VALUES (%s, 'done', %s, 0, 10000, %s, 1, %s, 0, %s, %s)",
        (fake, FAKE_BURNED, FAKE_BURN_TX, FAKE_BURNED, inside, inside))


def test_a_burn_in_the_ledger_but_not_on_chain_is_flagged_first_in_every_format(own_story, own_sql,
                                                                                tmp_path):
    # It inserts rows: on its own copy of the story's database, never the module's.
    story, sql = own_story, own_sql
    inject_ledger_only_burn(sql, story)
    document = report_for(story, story.middle, story.ended, tmp_path)
    validate(document)

    mismatches = document["reconciliation"]["mismatches"]
    assert document["reconciliation"]["reconciled"] is False
    assert [(m["check"], m["difference"]) for m in mismatches] == [
        ("burned", str(FAKE_BURNED)), ("burned", str(FAKE_BURNED))]
    assert mismatches[1]["reference"] == FAKE_BURN_TX
    assert mismatches[1]["detail"] == "in the ledger, not on chain"
    assert_every_figure(document, sql, story, story.middle, story.ended, frozenset({FAKE_BURN_TX}))

    files = render_all(document)
    rows = list(csv.DictReader(io.StringIO(files["csv"].decode())))
    assert [r["record"] for r in rows[:2]] == ["mismatch", "mismatch"]
    assert rows[1]["id"] == FAKE_BURN_TX and rows[1]["difference"] == str(FAKE_BURNED)
    assert {r["record"] for r in rows[2:]} >= {"buyback", "burn", "check"}

    html = files["html"].decode()
    assert 'class="mismatch" id="mismatches"' in html
    assert html.index('id="mismatches"') < html.index("<h2>Summary</h2>")
    assert FAKE_BURN_TX in html.split('id="mismatches"')[1].split("</section>")[0]

    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(files["pdf"])).pages)
    assert "2 mismatch(es)" in text and str(FAKE_BURNED) in text
    assert text.index("mismatch(es)") < text.index("Summary")
    assert files["pdf"].startswith(b"%PDF-")


def test_a_wallet_burn_outside_the_ledger_is_flagged_first_in_every_format(story, story_sql,
                                                                          tmp_path):
    unknown = story.unknown_wallet_burn
    assert unknown is not None and unknown.sender == story.deployed.wallet.address
    document = report_for(story, story.middle, story.after, tmp_path)
    validate(document)

    mismatches = document["reconciliation"]["mismatches"]
    assert document["reconciliation"]["reconciled"] is False
    # The ledger burned less than the wallet did on chain: the total first, then the tx.
    assert [(m["check"], m["difference"]) for m in mismatches] == [
        ("burned", str(-UNKNOWN_WALLET_BURN)), ("burned", str(-UNKNOWN_WALLET_BURN))]
    assert (mismatches[1]["reference"], mismatches[1]["detail"]) == (
        unknown.tx_hash, "on chain, not in the ledger")
    # The treasury's burn in the period stays information.
    assert document["chain"]["burned_by_other_holders"] == str(TREASURY_BURN_BESIDE)
    assert all(m["reference"] != b.tx_hash for m in mismatches for b in story.treasury_burns)
    assert_every_figure(document, story_sql, story, story.middle, story.after,
                        wallet_only=frozenset({unknown.tx_hash}))

    files = render_all(document)
    rows = list(csv.DictReader(io.StringIO(files["csv"].decode())))
    assert [r["record"] for r in rows[:3]] == ["mismatch", "mismatch", "buyback"]
    assert rows[1]["id"] == unknown.tx_hash and rows[1]["difference"] == str(-UNKNOWN_WALLET_BURN)

    html = files["html"].decode()
    assert html.index('id="mismatches"') < html.index("<h2>Summary</h2>")
    flagged = html.split('id="mismatches"')[1].split("</section>")[0]
    assert unknown.tx_hash in flagged
    assert all(b.tx_hash not in flagged for b in story.treasury_burns)

    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(files["pdf"])).pages)
    assert "2 mismatch(es)" in text and str(-UNKNOWN_WALLET_BURN) in text
    assert text.index("mismatch(es)") < text.index("Summary")


# --- storage -----------------------------------------------------------------------------

@pytest.fixture
def aws(monkeypatch):
    from moto import mock_aws

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


def test_reports_go_to_s3_encrypted_under_their_period(story, aws):
    import boto3

    s3, kms = boto3.client("s3", region_name="us-east-1"), boto3.client("kms", region_name="us-east-1")
    s3.create_bucket(Bucket="ember-reports")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    period = Period(CUSTOM, story.middle, story.ended)
    prefix = f"reports/custom/{period.key}/report."

    written = publish_report(story.app, period, storage=S3ReportStorage(s3, "ember-reports"))
    assert written.locations == {f: f"s3://ember-reports/{prefix}{f}" for f in ("json", "csv", "html", "pdf")}
    for fmt in ("json", "csv", "html", "pdf"):
        head = s3.head_object(Bucket="ember-reports", Key=prefix + fmt)
        assert head["ServerSideEncryption"] == "AES256"

    publish_report(story.app, period, storage=S3ReportStorage(s3, "ember-reports", kms_key_id=key_id))
    head = s3.head_object(Bucket="ember-reports", Key=prefix + "pdf")
    assert head["ServerSideEncryption"] == "aws:kms" and key_id in head["SSEKMSKeyId"]
    stored = json.loads(s3.get_object(Bucket="ember-reports", Key=prefix + "json")["Body"].read())
    assert {**stored, "generated_at": None} == {**json.loads(json.dumps(written.document)),
                                                "generated_at": None}


def test_the_scheduled_function_writes_the_last_complete_period(story, monkeypatch, tmp_path):
    from ember.runtime import entry
    from ember.runtime.logging import configure

    # Its reports go to a directory of its own, not the module's shared EMBER_REPORTS_DIR.
    monkeypatch.setattr(story.app, "settings",
                        story.app.settings.model_copy(update={"reports_dir": tmp_path / "reports"}))

    configure(story.app.settings.log_level)  # what current_app() does before it builds the app
    monkeypatch.setattr(entry, "_app", story.app)
    monkeypatch.syspath_prepend(str(ROOT / "functions" / "burn_report"))
    sys.modules.pop("app", None)
    import app as burn_report_function

    try:
        result = burn_report_function.handler({"id": "evt-1"}, None)
    finally:
        sys.modules.pop("app", None)
    (summary,) = result["result"]["reports"]
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday())
    assert summary["report_id"] == f"weekly.{monday - timedelta(days=7)}_{monday}"
    assert summary["formats"] == ["csv", "html", "json", "pdf"]
    stored = LocalReportStorage(story.app.settings.reports_dir)
    assert stored.report_ids() == [summary["report_id"]]


# --- the API -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def published(story, tmp_path_factory) -> tuple[LocalReportStorage, list[Period]]:
    """The first half's, second half's and whole story's reports, built and rendered once for
    the module (each takes seconds) into a directory of their own."""
    storage = LocalReportStorage(tmp_path_factory.mktemp("published"))
    periods = [Period(CUSTOM, start, end) for start, end in (
        (story.started, story.middle), (story.middle, story.ended), (story.started, story.ended))]
    for period in periods:
        publish_report(story.app, period, storage=storage)
    return storage, periods


@pytest.fixture
def finance_api(story, published, aws, monkeypatch):
    """The real API app on the story's app, the published reports in a moto bucket of its own."""
    import boto3
    from chalice.test import Client

    from ember.runtime.api import context

    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="ember-reports")
    settings = story.app.settings.model_copy(update={"reports_bucket": "ember-reports"})
    monkeypatch.setattr(story.app, "settings", settings)
    rendered, periods = published
    bucket = S3ReportStorage(s3, "ember-reports")
    for period in periods:
        files = {fmt: rendered.read(period.report_id, fmt) for fmt in rendered.formats(period.report_id)}
        assert sorted(files) == ["csv", "html", "json", "pdf"] and all(files.values())
        bucket.put(period, files)
    monkeypatch.syspath_prepend(str(ROOT / "functions" / "api"))
    import app as api_module

    context.use(context.api_context(story.app))
    with Client(api_module.app) as client:
        yield client
    context.use(None)


def get(client, path: str, roles: tuple[str, ...] | None = ("finance",)) -> tuple[int, Any]:
    headers = {} if roles is None else {"Authorization": make_token("fin", roles=roles)}
    response = client.http.get(path, headers=headers)
    return response.status_code, json.loads(response.body)


def test_finance_lists_reports_page_by_page_and_downloads_them(finance_api, story):
    from ember.runtime.api.openapi import document

    schemas = document()["components"]["schemas"]
    status, first = get(finance_api, "/v1/finance/reports?limit=2")
    assert status == 200 and len(first["items"]) == 2 and first["next_cursor"]
    status, second = get(finance_api, f"/v1/finance/reports?limit=2&cursor={first['next_cursor']}")
    assert status == 200 and second["next_cursor"] is None
    ids = [item["id"] for item in first["items"] + second["items"]]
    assert sorted(ids) == sorted(Period(CUSTOM, a, b).report_id for a, b in (
        (story.started, story.middle), (story.middle, story.ended), (story.started, story.ended)))
    for item in first["items"]:
        jsonschema.validate(item, schemas["ReportEntry"])

    report_id = Period(CUSTOM, story.middle, story.ended).report_id
    status, body = get(finance_api, f"/v1/finance/reports/{report_id}")
    assert status == 200 and body["reconciled"] is True and body["mismatches"] == 0
    assert sorted(body["links"]) == ["csv", "html", "json", "pdf"]
    assert f"reports/custom/{report_id.split('.', 1)[1]}/report.pdf" in body["links"]["pdf"]
    assert "report" not in body
    status, full = get(finance_api, f"/v1/finance/reports/{report_id}?content=json")
    assert status == 200
    validate(full["report"])
    assert full["report"]["id"] == report_id


@pytest.mark.parametrize("roles", [("player",), ("operator",)])
def test_reports_are_for_finance_only(finance_api, roles):
    assert get(finance_api, "/v1/finance/reports", roles)[0] == 403
    assert get(finance_api, "/v1/finance/reports/custom.2030-01-01_2030-01-02", roles)[0] == 403


def test_reports_need_a_token(finance_api):
    assert get(finance_api, "/v1/finance/reports", None)[0] == 401
    assert get(finance_api, "/v1/finance/reports/custom.2030-01-01_2030-01-02", None)[0] == 401


def test_an_unknown_report_or_cursor_is_refused(finance_api):
    status, body = get(finance_api, "/v1/finance/reports/custom.2030-01-01_2030-01-02")
    assert (status, body["code"]) == (404, "report_not_found")
    status, body = get(finance_api, "/v1/finance/reports/not-a-report")
    assert (status, body["code"]) == (404, "report_not_found")
    status, body = get(finance_api, "/v1/finance/reports?cursor=abc")
    assert (status, body["code"]) == (422, "invalid_request")

