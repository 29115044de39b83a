"""Routes for players: bets, their account, insights, limits, self-exclusion, withdrawals."""

from __future__ import annotations

import time
import uuid
from typing import Any

from chalice import Chalice

from ember.adapters.auth import Principal
from ember.domain import insights as insight_rules
from ember.domain.errors import BetNotFound, InvalidRequest
from ember.domain.protection import LimitKind, Period, exclusion_end
from ember.services.cashier import request_withdrawal
from ember.services.place_bet import PlaceBet, place_bet

from .. import metrics
from . import context, cursor
from .endpoint import endpoint
from .json import parse_object
from .presenters import bet_view, insights_view, limits_view, page
from .public_views import parse_id

IDEMPOTENCY_HEADER = "idempotency-key"


def register(app: Chalice) -> None:
    def body() -> dict[str, Any]:
        request = app.current_request
        return parse_object(request.raw_body, request.headers.get("content-type"))

    @endpoint(app, "/v1/rounds/{round_id}/bets", "POST", role="player")
    def create_bet(principal: Principal, round_id: str) -> tuple[dict[str, Any], int, dict]:
        key = app.current_request.headers.get(IDEMPOTENCY_HEADER)
        if not key:
            raise InvalidRequest("the Idempotency-Key header is required", header="Idempotency-Key")
        if not key.isprintable():  # NUL and other control characters cannot be stored
            raise InvalidRequest("the Idempotency-Key header must be printable text",
                                 header="Idempotency-Key")
        fields = only(body(), {"outcome", "amount"})
        ctx = context.current()
        ctx.limiter.check("bets", principal.subject)
        started = time.perf_counter()
        placed = place_bet(PlaceBet(principal.subject, parse_id(round_id), fields.get("outcome"),
                                    fields.get("amount"), key),
                           bets=ctx.ember.bets, clock=ctx.ember.clock)
        metrics.observe(metrics.BET_LATENCY, time.perf_counter() - started)
        if not placed.replayed:
            metrics.count(metrics.BETS_PLACED)
        response = {"bet": {"id": placed.bet.id, "round_id": placed.bet.round_id,
                            "outcome": placed.bet.outcome, "amount": placed.bet.amount,
                            "placed_at": placed.bet.placed_at},
                    "balance": placed.balance, "education": placed.education}
        return response, 201, {"Idempotent-Replayed": "true"} if placed.replayed else {}

    @endpoint(app, "/v1/me", "GET", role="player")
    def me(principal: Principal) -> dict[str, Any]:
        ctx = context.current()
        now = ctx.ember.clock.now()
        return {"player_id": principal.subject, "balance": ctx.reads.balance(principal.subject),
                "currency": "USDT", "roles": sorted(principal.roles),
                "limits": limits_view(ctx.protection.limits(principal.subject), now),
                "self_excluded_until": ctx.protection.excluded_until(principal.subject, now)}

    @endpoint(app, "/v1/me/bets", "GET", role="player")
    def my_bets(principal: Principal) -> dict[str, Any]:
        query = app.current_request.query_params or {}
        limit = cursor.page_limit(query.get("limit"))
        rows = context.current().reads.bets_page(principal.subject,
                                                 cursor.decode(query.get("cursor")), limit + 1)
        return page(rows, limit, "placed_at", bet_view)

    @endpoint(app, "/v1/me/bets/{bet_id}", "GET", role="player")
    def my_bet(principal: Principal, bet_id: str) -> dict[str, Any]:
        row = context.current().reads.bet(principal.subject, parse_id(bet_id, BetNotFound))
        if row is None:
            raise BetNotFound("no such bet")
        return bet_view(row)

    @endpoint(app, "/v1/me/insights", "GET", role="player")
    def my_insights(principal: Principal) -> dict[str, Any]:
        rows = context.current().reads.insight_rows(principal.subject)
        records = [insight_rules.record(r["amount"], r["returned"], r["education"],
                                        r["round_status"]) for r in rows]
        return insights_view(insight_rules.insights(records))

    @endpoint(app, "/v1/me/limits", "PUT", role="player")
    def set_limits(principal: Principal) -> dict[str, Any]:
        wanted = parse_limits(body())
        ctx = context.current()
        now = ctx.ember.clock.now()
        return {"limits": limits_view(ctx.protection.change_limits(principal.subject, wanted, now),
                                      now)}

    @endpoint(app, "/v1/me/self-exclusion", "POST", role="player", status=201)
    def self_exclude(principal: Principal) -> dict[str, Any]:
        ctx = context.current()
        now = ctx.ember.clock.now()
        try:
            until = exclusion_end(now, only(body(), {"days"}).get("days"))
        except OverflowError:  # timedelta(days=10**20) overflows before the domain's own check
            raise InvalidRequest("days is far beyond the longest self-exclusion") from None
        return {"self_excluded_until": ctx.protection.exclude(principal.subject, until, now)}

    @endpoint(app, "/v1/me/withdrawals", "POST", role="player", status=201)
    def create_withdrawal(principal: Principal) -> dict[str, Any]:
        fields = only(body(), {"id", "amount"})
        withdrawal_id = parse_uuid_field(fields.get("id"), "id")
        ember = context.current().ember
        held = request_withdrawal(withdrawal_id, principal.subject, fields.get("amount"),
                                  ledger=ember.ledger, clock=ember.clock)
        return withdrawal_view(held)

    @endpoint(app, "/v1/me/withdrawals", "GET", role="player")
    def my_withdrawals(principal: Principal) -> dict[str, Any]:
        held = context.current().ember.ledger.withdrawals(principal.subject)
        return {"items": [withdrawal_view(w) for w in held]}


def withdrawal_view(withdrawal: Any) -> dict[str, Any]:
    return {"id": withdrawal.id, "amount": withdrawal.amount, "status": withdrawal.status,
            "requested_at": withdrawal.requested_at, "finished_at": withdrawal.finished_at}


def only(fields: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
    """The body's fields, refusing unknown ones (a typo must not be silently ignored)."""
    unknown = set(fields) - allowed
    if unknown:
        raise InvalidRequest(f"unknown fields: {', '.join(sorted(unknown))}")
    return fields


def parse_uuid_field(raw: object, name: str) -> uuid.UUID:
    """A client-generated id (a retry sends the same one); InvalidRequest otherwise."""
    try:
        return uuid.UUID(str(raw)) if isinstance(raw, str) else _bad(name)
    except ValueError:
        return _bad(name)


def _bad(name: str) -> uuid.UUID:
    raise InvalidRequest(f"{name} must be a UUID generated by the client", field=name)


def parse_limits(fields: dict[str, Any]) -> dict[tuple[LimitKind, Period], int | None]:
    """{"loss": {"24h": 100, "7d": null}, ...} as (kind, period) → amount (null = remove)."""
    wanted: dict[tuple[LimitKind, Period], int | None] = {}
    for kind_name, periods in fields.items():
        if kind_name not in set(LimitKind) or not isinstance(periods, dict):
            raise InvalidRequest(f"limits are {sorted(k.value for k in LimitKind)},"
                                 " each an object of periods")
        for period_name, amount in periods.items():
            if period_name not in set(Period):
                raise InvalidRequest(f"periods are {sorted(p.value for p in Period)}")
            wanted[(LimitKind(kind_name), Period(period_name))] = amount
    if not wanted:
        raise InvalidRequest("no limit given")
    return wanted
