"""The burn report as one JSON document (schemas/burn_report.v1.json): every other format is
rendered from it, so CSV, HTML and PDF can never say something the JSON does not.

Stable amounts are integers of USDT minor units; token amounts are decimal strings of wei
(they pass 2^53); prices and rates come as a rounded decimal and as an exact fraction.

`chain.burn_events` lists every burn on chain, each marked `by` the technical wallet or an
other holder; `chain.burned_by_other_holders` and `chain.burns_by_other_holders` sum up the
latter: information, never a mismatch.
"""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from typing import Any

from ember.domain.burn_report import (
    BurnLine,
    BurnReport,
    BuybackLine,
    ChainFigures,
    Check,
    Mismatch,
    TokenEvent,
    decimal_text,
    fraction_text,
)

SCHEMA_ID = "https://ember.example/reports/burn_report.v1.json"
TOKEN_WEI, STABLE_MINOR = 10**18, 10**6
_PRICE_DIGITS = 12


def report_document(report: BurnReport) -> dict[str, Any]:
    """The JSON-ready document of `report`; mismatches come first in `reconciliation`."""
    ledger, chain = report.ledger, report.chain
    return {
        "type": "burn_report", "version": 1, "id": report.period.report_id,
        "period": {"kind": report.period.kind, "from": _time(report.period.start),
                   "to": _time(report.period.end)},
        "generated_at": _time(report.generated_at),
        "units": {"stable": "USDT minor units (6 decimals)", "token": "wei (18 decimals)",
                  "price": "USDT per whole token"},
        "reconciliation": {
            "reconciled": report.reconciled,
            "mismatches": [_mismatch(m) for m in report.mismatches],
            "checks": [_check(c) for c in report.checks]},
        "rounds": {"settled": ledger.rounds_settled},
        "commission": {
            "accrued": ledger.commission_accrued, "spent_on_buybacks": ledger.spent,
            "spent_posted": ledger.spent_posted, "pool_opening": ledger.pool_opening,
            "pool_closing": ledger.pool_closing, "in_flight_opening": ledger.in_flight_opening,
            "in_flight_closing": ledger.in_flight_closing,
            "rounds_commission": ledger.rounds_commission,
            "rounds_commission_posted": ledger.rounds_commission_posted},
        "buybacks": [_buyback(b) for b in ledger.buybacks],
        "burns": [_burn(b) for b in ledger.burns],
        "chain": {
            "start_block": chain.start_block, "end_block": chain.end_block,
            "start_time": _time(chain.start_time), "end_time": _time(chain.end_time),
            "supply_start": str(chain.supply_start), "supply_end": str(chain.supply_end),
            "supply_fall": str(chain.supply_fall), "minted": str(chain.minted),
            "burn_events": _burn_events(chain),
            "deposit_events": [_event(e) for e in chain.deposits],
            "wallet": chain.wallet, "burned_by_wallet": str(chain.wallet_burned),
            "burned_by_other_holders": str(chain.others_burned),
            "burns_by_other_holders": len(chain.other_burns)},
        "totals": {
            "tokens_bought": str(ledger.tokens_bought), "burned": str(ledger.burned),
            "dividends": str(ledger.dividends),
            "cumulative_burned": str(report.cumulative_burned),
            "cumulative_burned_ledger": str(ledger.burned_before + ledger.burned),
            "net_deflation_percent": decimal_text(report.net_deflation * 100, 10),
            "net_deflation_exact": fraction_text(report.net_deflation)},
        "days": [{"day": d.day.isoformat(), "commission": d.commission, "spent": d.spent,
                  "burned": str(d.burned), "dividend": str(d.dividend)} for d in ledger.days],
        "supply_series": [{"block": p.block, "time": _time(p.timestamp), "supply": str(p.supply)}
                          for p in report.supply_series()],
    }


def price_per_token(stable_per_wei: Fraction) -> str:
    """Stable minor units per token wei as USDT per whole token, rounded to 12 places."""
    return decimal_text(stable_per_wei * TOKEN_WEI / STABLE_MINOR, _PRICE_DIGITS)


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _mismatch(m: Mismatch) -> dict[str, Any]:
    return {"check": m.check, "detail": m.detail, "expected": str(m.expected),
            "actual": str(m.actual), "difference": str(m.difference), "unit": m.unit,
            "reference": m.reference}


def _check(c: Check) -> dict[str, Any]:
    return {"name": c.name, "ok": c.ok, "left_label": c.left_label, "left": str(c.left),
            "right_label": c.right_label, "right": str(c.right),
            "difference": str(c.difference), "unit": c.unit}


def _buyback(b: BuybackLine) -> dict[str, Any]:
    return {"id": b.id, "venue": b.venue, "spent": b.spent,
            "tokens_received": str(b.tokens_received),
            "average_price": price_per_token(b.average_price),
            "average_price_exact": fraction_text(b.average_price),
            "reference_price": price_per_token(b.reference),
            "reference_price_exact": fraction_text(b.reference),
            "reference_source": b.reference_source,
            "slippage_bps": decimal_text(b.slippage_bps, 2),
            "slippage_bps_exact": fraction_text(b.slippage_bps),
            "tx_hashes": list(b.tx_hashes), "client_order_id": b.client_order_id,
            "finished_at": _time(b.finished_at)}


def _burn(b: BurnLine) -> dict[str, Any]:
    return {"buyback_id": b.buyback_id, "burned": str(b.burned), "dividend": str(b.dividend),
            "burn_tx_hash": b.burn_tx_hash, "dividend_tx_hash": b.dividend_tx_hash,
            "burn_block": b.burn_block, "finished_at": _time(b.finished_at)}


def _event(e: TokenEvent) -> dict[str, Any]:
    return {"tx_hash": e.tx_hash, "block": e.block, "amount": str(e.amount),
            "time": _time(e.timestamp)}


def _burn_events(chain: ChainFigures) -> list[dict[str, Any]]:
    """Every burn on chain in chain order, each with its sender and whose it is."""
    tagged = [(e, "wallet") for e in chain.burns] + [(e, "other_holder") for e in chain.other_burns]
    tagged.sort(key=lambda pair: (pair[0].block, pair[0].log_index))
    return [{**_event(e), "from": e.sender, "by": by} for e, by in tagged]
