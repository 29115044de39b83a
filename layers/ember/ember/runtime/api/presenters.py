"""Shaping what the API returns: rounds with their live odds, bets, balances, insights."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ember.domain import odds
from ember.domain.insights import Insights
from ember.domain.markets import Market
from ember.domain.protection import Limit

from . import cursor


def market_view(market: Market) -> dict[str, Any]:
    return {"id": market.id, "title": market.title, "outcomes": list(market.outcomes),
            "interval_s": market.interval_s, "bet_window_s": market.bet_window_s,
            "commission_bps": market.commission_bps, "min_bet": market.min_bet,
            "max_bet": market.max_bet}


def round_view(row: dict[str, Any], pools: dict[int, int] | None = None) -> dict[str, Any]:
    """A round as players see it; the seed and salt only once it is resolved."""
    view = {key: row[key] for key in ("id", "market_id", "status", "open_at", "lock_at",
                                      "close_at", "deadline", "commission_bps", "min_bet",
                                      "max_bet", "seed_hash", "outcome_count")}
    if pools is not None:
        view["outcomes"] = outcome_views(pools, row["commission_bps"], row["outcome_count"])
        view["total_staked"] = sum(pools.values())
    if row["status"] in ("settled", "refunded"):
        view["resolution"] = {key: row[key] for key in (
            "server_seed", "salt", "outcome", "refund_reason", "total_staked", "winning_stake",
            "commission", "dust", "paid_out", "refunded", "resolved_at")}
    return view


def outcome_views(pools: dict[int, int], bps: int, count: int) -> list[dict[str, Any]]:
    """Per outcome: stake, live multiplier, implied and break-even probability (None: no stake)."""
    total = sum(pools.values())
    views = []
    for index, multiplier in enumerate(odds.multipliers(pools, bps, count)):
        stake = pools.get(index, 0)
        views.append({
            "index": index, "staked": stake, "payout_multiplier": multiplier,
            "implied_probability": round(stake / total, 6) if total else None,
            "break_even_probability": round(1 / multiplier, 6) if multiplier else None,
            "win_probability": round(1 / count, 6),
        })
    return views


def bet_view(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "round_id": row["round_id"], "outcome": row["outcome"],
            "amount": row["amount"], "placed_at": row["placed_at"],
            "round_status": row["round_status"], "returned": row["returned"],
            "education": row["education"]}


def page(items: list[dict[str, Any]], limit: int, time_key: str,
         view: Any) -> dict[str, Any]:
    """A page of `items` (fetched limit + 1) with the cursor of the next one, if any."""
    more = len(items) > limit
    shown = items[:limit]
    next_cursor = cursor.encode(shown[-1][time_key], shown[-1]["id"]) if more else None
    return {"items": [view(item) for item in shown], "next_cursor": next_cursor}


def limits_view(limits: list[Limit], now: Any) -> list[dict[str, Any]]:
    return [{"kind": lim.kind, "period": lim.period, "amount": lim.in_force(now),
             "pending": ({"amount": lim.pending_amount, "effective_at": lim.pending_at}
                         if lim.pending_at and lim.pending_at > now else None)}
            for lim in sorted(limits, key=lambda lim: (lim.kind, lim.period))]


def insights_view(result: Insights) -> dict[str, Any]:
    body = asdict(result)
    low, high = body.pop("expected_band")
    body["expected_net_band"] = {"low": low, "high": high, "sigmas": 2}
    return body
