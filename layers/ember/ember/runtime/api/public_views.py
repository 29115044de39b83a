"""Routes anyone may call: health, the OpenAPI document, markets, rounds, verification."""

from __future__ import annotations

import uuid
from typing import Any

from chalice import Chalice

from ember.domain.errors import EmberError, InvalidRequest, RoundNotFound
from ember.domain.fairness import draw_outcome, seed_hash
from ember.domain.rounds import RoundStatus

from . import context, cursor, openapi
from .endpoint import endpoint
from .presenters import market_view, page, round_view


def register(app: Chalice) -> None:
    @endpoint(app, "/v1/health", "GET")
    def health() -> dict[str, Any]:
        ctx = context.current()
        ctx.ember.db.run(lambda conn: conn.execute("SELECT 1"))
        return {"status": "ok", "rate_limit_unavailable": ctx.limiter.unavailable}

    @endpoint(app, "/v1/openapi.json", "GET")
    def openapi_document() -> dict[str, Any]:
        return openapi.document()

    @endpoint(app, "/v1/markets", "GET")
    def list_markets() -> dict[str, Any]:
        return {"items": [market_view(m) for m in context.current().ember.markets.active()]}

    @endpoint(app, "/v1/rounds", "GET")
    def list_rounds() -> dict[str, Any]:
        query = app.current_request.query_params or {}
        status = query.get("status")
        if status is not None and status not in set(RoundStatus):
            raise InvalidRequest(f"status must be one of {sorted(s.value for s in RoundStatus)}",
                                 parameter="status")
        market = query.get("market")
        if market is not None and "\x00" in market:  # PostgreSQL text cannot hold NUL
            raise InvalidRequest("market must not contain NUL", parameter="market")
        limit = cursor.page_limit(query.get("limit"))
        rows = context.current().reads.rounds_page(market, status,
                                                   cursor.decode(query.get("cursor")), limit + 1)
        return page(rows, limit, "open_at", round_view)

    @endpoint(app, "/v1/rounds/{round_id}", "GET")
    def get_round(round_id: str) -> dict[str, Any]:
        row, pools = context.current().reads.round_with_pools(parse_id(round_id))
        return round_view(row, pools)

    @endpoint(app, "/v1/rounds/{round_id}/verify", "GET")
    def verify_round(round_id: str) -> dict[str, Any]:
        row, _ = context.current().reads.round_with_pools(parse_id(round_id))
        return verification(row)


def verification(row: dict[str, Any]) -> dict[str, Any]:
    """Everything needed to recompute the outcome, and the recomputation itself."""
    published = {"round_id": str(row["id"]), "outcome_count": row["outcome_count"],
                 "seed_hash": row["seed_hash"], "server_seed": row["server_seed"],
                 "salt": row["salt"], "salt_block": salt_block(row.get("salt_source")),
                 "outcome": row["outcome"],
                 "algorithm": "outcome = HMAC-SHA256(key=bytes.fromhex(server_seed),"
                              " msg=f'{round_id}:{salt}') as a big-endian integer, rejection"
                              " sampled below the largest multiple of outcome_count"
                              " (retry k uses msg f'{round_id}:{salt}:{k}'), modulo"
                              " outcome_count; seed_hash = sha256(bytes.fromhex(server_seed))"}
    if row["server_seed"] is None:
        return {**published, "verified": None, "reason": "the seed is published at resolution"}
    seed_ok = seed_hash(row["server_seed"]) == row["seed_hash"]
    recomputed = (draw_outcome(row["server_seed"], str(row["id"]), row["salt"],
                               row["outcome_count"]) if row["salt"] is not None else None)
    return {**published, "seed_matches_hash": seed_ok, "recomputed_outcome": recomputed,
            "verified": seed_ok and recomputed == row["outcome"]}


def salt_block(source: str | None) -> int | None:
    """The chain block whose hash is the salt (source `block-hash:<number>`), else None.

    Anyone can check the salt with eth_getBlockByNumber(<number>): the first block stamped
    after lock_at.
    """
    kind, _, number = (source or "").partition(":")
    return int(number) if kind == "block-hash" and number.isdigit() else None


def parse_id(raw: str, missing: type[EmberError] = RoundNotFound) -> uuid.UUID:
    """A path id as a UUID; a malformed one is a 404 (no such thing), not a 500."""
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise missing("no such " + missing.code.removesuffix("_not_found")) from None
