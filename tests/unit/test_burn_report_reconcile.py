"""Burn report reconciliation, pure: the ledger's burns against the technical wallet's burns
on chain, the fall in supply against every burn, other holders' burns shown and never a
mismatch; and the document, CSV and HTML carrying the figure of other holders' burns."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, datetime
from fractions import Fraction
from importlib import resources

import jsonschema

from ember.adapters.reports.document import report_document
from ember.adapters.reports.renderers import render_csv, render_html
from ember.domain.burn_report import (
    BurnLine,
    BuybackLine,
    ChainFigures,
    LedgerFigures,
    Period,
    TokenEvent,
    build_report,
    reconcile,
    unmatched_transactions,
)

TOKEN = 10**18
SUPPLY = 1_000_000_000 * TOKEN
WALLET = "0x" + "77" * 20
TREASURY = "0x" + "d1" * 20
BUYBACK = "7c1e8a52-0000-4000-8000-000000000001"
BURN_TX, DEPOSIT_TX, OTHER_TX, LATER_OTHER_TX, UNKNOWN_TX = ("0x" + c * 64 for c in "abcde")
AT = datetime(2026, 11, 2, 12, tzinfo=UTC)
PERIOD = Period("weekly", datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC))
SCHEMA = json.loads((resources.files("ember") / "schemas" / "burn_report.v1.json").read_text())


def ledger(*burns: BurnLine) -> LedgerFigures:
    """One buy-back of 1,000 tokens for 100 USDT, burned 800 / 200 to the dividend pool."""
    return LedgerFigures(
        rounds_settled=5, rounds_commission=100_000_000, rounds_commission_posted=100_000_000,
        commission_accrued=100_000_000, pool_opening=0, pool_closing=0, in_flight_opening=0,
        in_flight_closing=0, spent_posted=100_000_000, burned_before=0,
        buybacks=(BuybackLine(BUYBACK, "dex", 100_000_000, 1000 * TOKEN, Fraction(1, 10**13),
                              "dev", ("0x" + "01" * 32,), None, AT),),
        burns=burns or (BurnLine(BUYBACK, 800 * TOKEN, 200 * TOKEN, BURN_TX, DEPOSIT_TX, 1200, AT),))


def wallet_burn(amount: int = 800 * TOKEN, tx: str = BURN_TX, block: int = 1200,
                log_index: int = 0) -> TokenEvent:
    return TokenEvent(tx, block, amount, AT, sender=WALLET, log_index=log_index)


def other_burn(amount: int, tx: str = OTHER_TX, block: int = 1200, log_index: int = 1,
               sender: str = TREASURY) -> TokenEvent:
    return TokenEvent(tx, block, amount, AT, sender=sender, log_index=log_index)


def chain(burns: tuple[TokenEvent, ...] = (), others: tuple[TokenEvent, ...] = (),
          fall: int | None = None) -> ChainFigures:
    """The chain between blocks 1000 and 1900; the supply falls by every burn unless told."""
    fall = sum(e.amount for e in (*burns, *others)) if fall is None else fall
    return ChainFigures(1000, 1900, SUPPLY, SUPPLY - fall, SUPPLY, burns=burns,
                        deposits=(TokenEvent(DEPOSIT_TX, 1201, 200 * TOKEN, AT),),
                        start_time=datetime(2026, 11, 1, tzinfo=UTC), end_time=AT,
                        other_burns=others, wallet=WALLET)


def checks(ledger_figures: LedgerFigures, chain_figures: ChainFigures) -> dict[str, tuple[int, int]]:
    return {c.name: (c.left, c.right) for c in reconcile(ledger_figures, chain_figures)}


def test_only_the_wallet_burned_and_everything_reconciles():
    report = build_report(PERIOD, ledger(), chain((wallet_burn(),)), generated_at=AT)

    assert report.mismatches == []
    assert checks(report.ledger, report.chain)["burned"] == (800 * TOKEN, 800 * TOKEN)
    assert checks(report.ledger, report.chain)["burn_events"] == (800 * TOKEN, 800 * TOKEN)
    assert report.chain.others_burned == 0 and report.chain.other_burns == ()


def test_other_holders_burns_lower_the_supply_but_are_no_mismatch():
    # One in the same block as the wallet's burn, one in a block of its own.
    others = (other_burn(5 * TOKEN), other_burn(7 * TOKEN, LATER_OTHER_TX, 1500, 0, "0x" + "e2" * 20))
    report = build_report(PERIOD, ledger(), chain((wallet_burn(),), others), generated_at=AT)

    assert report.mismatches == [] and report.reconciled
    by_name = checks(report.ledger, report.chain)
    # The ledger against the wallet's burns; the supply's fall against every burn.
    assert by_name["burned"] == (800 * TOKEN, 800 * TOKEN)
    assert by_name["burn_events"] == (812 * TOKEN, 812 * TOKEN)
    assert (report.chain.others_burned, len(report.chain.other_burns)) == (12 * TOKEN, 2)
    assert report.chain.supply_fall == 812 * TOKEN == report.cumulative_burned
    assert unmatched_transactions(report.ledger, report.chain) == []


def test_the_supply_series_steps_at_every_burn_in_chain_order():
    # The other holder's burn comes first in block 1200 (log 0), the wallet's second (log 3).
    others = (other_burn(5 * TOKEN, log_index=0), other_burn(7 * TOKEN, LATER_OTHER_TX, 1500, 0))
    figures = chain((wallet_burn(log_index=3),), others)
    series = build_report(PERIOD, ledger(), figures, generated_at=AT).supply_series()

    assert [(p.block, p.supply) for p in series] == [
        (1000, SUPPLY), (1200, SUPPLY - 5 * TOKEN), (1200, SUPPLY - 805 * TOKEN),
        (1500, SUPPLY - 812 * TOKEN), (1900, SUPPLY - 812 * TOKEN)]
    assert series[-1].supply == figures.supply_end


def test_a_wallet_burn_the_ledger_does_not_know_is_a_mismatch_first():
    unknown = wallet_burn(3 * TOKEN, UNKNOWN_TX, 1300)
    report = build_report(PERIOD, ledger(), chain((wallet_burn(), unknown), (other_burn(5 * TOKEN),)),
                          generated_at=AT)

    assert [(m.check, m.detail, m.reference, m.difference) for m in report.mismatches] == [
        ("burned", "burned in the ledger ≠ the wallet's burns (Transfer from the wallet to 0x0)"
                   " on chain", None, -3 * TOKEN),
        ("burned", "on chain, not in the ledger", UNKNOWN_TX, -3 * TOKEN)]
    assert checks(report.ledger, report.chain)["burn_events"] == (808 * TOKEN, 808 * TOKEN)


def test_a_ledger_burn_missing_on_chain_is_a_mismatch_even_among_other_holders_burns():
    report = build_report(PERIOD, ledger(), chain((), (other_burn(800 * TOKEN, tx="0x" + "99" * 32),)),
                          generated_at=AT)

    assert [(m.check, m.detail, m.expected, m.actual) for m in report.mismatches] == [
        ("burned", "burned in the ledger ≠ the wallet's burns (Transfer from the wallet to 0x0)"
                   " on chain", 800 * TOKEN, 0),
        ("burned", "in the ledger, not on chain", 800 * TOKEN, 0)]


def test_a_ledger_burn_whose_tx_burned_another_holders_tokens_says_so():
    # The ledger names a transaction that burned, but not the wallet's tokens.
    report = build_report(PERIOD, ledger(), chain((), (other_burn(800 * TOKEN, tx=BURN_TX),)),
                          generated_at=AT)

    items = unmatched_transactions(report.ledger, report.chain)
    assert [(m.detail, m.reference, m.expected, m.actual) for m in items] == [
        ("in the ledger, on chain a burn by another holder, not the wallet", BURN_TX, 800 * TOKEN, 0)]
    assert not report.reconciled


def test_a_supply_fall_other_than_every_burn_is_a_mismatch_of_the_token():
    # Every burn event is accounted for, yet the supply fell by one wei more.
    figures = chain((wallet_burn(),), (other_burn(5 * TOKEN),), fall=805 * TOKEN + 1)
    report = build_report(PERIOD, ledger(), figures, generated_at=AT)

    assert [(m.check, m.expected, m.actual) for m in report.mismatches] == [
        ("burn_events", 805 * TOKEN + 1, 805 * TOKEN)]


def test_the_document_csv_and_html_show_other_holders_burns_as_information():
    others = (other_burn(5 * TOKEN), other_burn(7 * TOKEN, LATER_OTHER_TX, 1500, 0))
    report = build_report(PERIOD, ledger(), chain((wallet_burn(),), others), generated_at=AT)
    document = report_document(report)
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(
        json.loads(json.dumps(document)))

    on_chain = document["chain"]
    assert (on_chain["wallet"], on_chain["burned_by_wallet"]) == (WALLET, str(800 * TOKEN))
    assert (on_chain["burned_by_other_holders"], on_chain["burns_by_other_holders"]) == (
        str(12 * TOKEN), 2)
    assert [(e["tx_hash"], e["by"], e["from"]) for e in on_chain["burn_events"]] == [
        (BURN_TX, "wallet", WALLET), (OTHER_TX, "other_holder", TREASURY),
        (LATER_OTHER_TX, "other_holder", TREASURY)]
    assert [int(p["supply"]) for p in document["supply_series"]] == [
        SUPPLY, SUPPLY - 800 * TOKEN, SUPPLY - 805 * TOKEN, SUPPLY - 812 * TOKEN,
        SUPPLY - 812 * TOKEN]
    assert document["reconciliation"]["mismatches"] == []

    rows = list(csv.DictReader(io.StringIO(render_csv(document).decode())))
    assert "mismatch" not in {r["record"] for r in rows}
    assert [(r["id"], r["burned_wei"], r["burn_tx_hash"]) for r in rows
            if r["record"] == "other_burn"] == [(TREASURY, str(5 * TOKEN), OTHER_TX),
                                                (TREASURY, str(7 * TOKEN), LATER_OTHER_TX)]
    (total,) = [r for r in rows if r["record"] == "total"]
    assert (total["id"], total["burned_wei"], total["count"]) == (
        "burned_by_other_holders", str(12 * TOKEN), "2")

    html = render_html(document).decode()
    assert 'id="mismatches"' not in html and 'id="reconciled"' in html
    assert "tokens burned by other holders" in html and "12 in 2 burn(s)" in html
    assert OTHER_TX in html.split('id="other-holders"')[1] and BURN_TX not in html.split(
        'id="other-holders"')[1].split("</table>")[0]


def test_a_document_without_other_holders_still_states_the_figure():
    document = report_document(build_report(PERIOD, ledger(), chain((wallet_burn(),)),
                                            generated_at=AT))
    rows = list(csv.DictReader(io.StringIO(render_csv(document).decode())))

    on_chain = document["chain"]
    assert (on_chain["burned_by_other_holders"], on_chain["burns_by_other_holders"]) == ("0", 0)
    assert [(r["burned_wei"], r["count"]) for r in rows if r["record"] == "total"] == [("0", "0")]
    assert "no other holder burned in this period" in render_html(document).decode()


def test_figures_read_without_senders_keep_their_meaning():
    # Figures made by hand (bench/report.py): burns without a sender are the wallet's.
    figures = replace(chain((replace(wallet_burn(), sender=None),)), wallet=None)
    document = report_document(build_report(PERIOD, ledger(), figures, generated_at=AT))

    assert document["reconciliation"]["mismatches"] == []
    assert [(e["by"], e["from"]) for e in document["chain"]["burn_events"]] == [("wallet", None)]
    assert document["chain"]["wallet"] is None
