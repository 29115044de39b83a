"""The OpenAPI 3.1 document of the API; a test keeps it equal to the routes that exist."""

from __future__ import annotations

from functools import cache
from typing import Any

from ember.adapters.auth import AUTH_ERRORS
from ember.domain.errors import ALL_ERRORS, EmberError
from ember.domain.protection import LIMIT_ERROR_CODES, SelfExcluded

from .json import InvalidJson, UnsupportedMediaType
from .rate_limit import RateLimited
from .webhook import InvalidSignature, SignatureExpired

INT = {"type": "integer"}
STR = {"type": "string"}
UUID = {"type": "string", "format": "uuid"}
TIME = {"type": "string", "format": "date-time"}
NUM_OR_NULL = {"type": ["number", "null"]}
INT_OR_NULL = {"type": ["integer", "null"]}


def error_codes() -> list[str]:
    """Every stable error code the API can answer with."""
    classes: tuple[type[EmberError], ...] = (
        *ALL_ERRORS, *AUTH_ERRORS, SelfExcluded, InvalidJson, UnsupportedMediaType, RateLimited,
        InvalidSignature, SignatureExpired)
    codes = {c.code for c in classes} | set(LIMIT_ERROR_CODES)
    codes |= {"not_found", "method_not_allowed", "payload_too_large", "bad_request",
              "internal_error", "webhook_not_configured"}
    codes |= {"report_not_found"}  # finance reports (report_views)
    # CloudEvent deliveries the same server takes on Knative (runtime/http/sinks.py).
    codes |= {"unsupported_event", "record_failed"}
    return sorted(codes)


def obj(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "object", "required": sorted(required),
            "properties": {**required, **(optional or {})}}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def page_of(name: str) -> dict[str, Any]:
    return obj({"items": {"type": "array", "items": ref(name)},
                "next_cursor": {"type": ["string", "null"]}})


SCHEMAS: dict[str, Any] = {
    # RFC 9457 problem; `detail` is absent from the HTTP adapter's own replies (404, 405, 500).
    "Problem": obj({"type": STR, "title": STR, "status": INT, "code": {"enum": error_codes()}},
                   {"detail": STR}),
    "Market": obj({"id": STR, "title": STR, "outcomes": {"type": "array", "items": STR},
                   "interval_s": INT, "bet_window_s": INT, "commission_bps": INT,
                   "min_bet": INT, "max_bet": INT}),
    "OutcomeOdds": obj({"index": INT, "staked": INT, "payout_multiplier": NUM_OR_NULL,
                        "implied_probability": NUM_OR_NULL, "break_even_probability": NUM_OR_NULL,
                        "win_probability": {"type": "number"}}),
    "Round": obj({"id": UUID, "market_id": STR, "status": {"enum": ["scheduled", "open", "locked",
                                                                    "settled", "refunded"]},
                  "open_at": TIME, "lock_at": TIME, "close_at": TIME, "deadline": TIME,
                  "commission_bps": INT, "min_bet": INT, "max_bet": INT, "seed_hash": STR,
                  "outcome_count": INT},
                 {"outcomes": {"type": "array", "items": ref("OutcomeOdds")}, "total_staked": INT,
                  "resolution": {"type": "object"}}),
    "Verification": obj({"round_id": UUID, "outcome_count": INT, "seed_hash": STR,
                         "algorithm": STR, "verified": {"type": ["boolean", "null"]}},
                        {"server_seed": {"type": ["string", "null"]},
                         "salt": {"type": ["string", "null"]}, "outcome": INT_OR_NULL,
                         # The chain block whose hash is the salt (the first after lock_at);
                         # null for a salt from another source or not yet published.
                         "salt_block": INT_OR_NULL,
                         "recomputed_outcome": INT_OR_NULL}),
    "Education": obj({"stake": INT, "payout_if_wins": INT, "multiplier": {"type": "number"},
                      "implied_probability": {"type": "number"},
                      "break_even_probability": {"type": "number"},
                      "win_probability": {"type": "number"}, "expected_value": INT,
                      "commission": INT}),
    "BetPlaced": obj({"bet": obj({"id": UUID, "round_id": UUID, "outcome": INT, "amount": INT,
                                  "placed_at": TIME}),
                      "balance": INT, "education": ref("Education")}),
    "Bet": obj({"id": UUID, "round_id": UUID, "outcome": INT, "amount": INT, "placed_at": TIME,
                "round_status": STR, "returned": INT_OR_NULL,
                "education": {"type": ["object", "null"]}}),
    "Limit": obj({"kind": {"enum": ["deposit", "loss", "stake"]},
                  "period": {"enum": ["24h", "7d", "30d"]}, "amount": INT_OR_NULL,
                  "pending": {"type": ["object", "null"]}}),
    "Me": obj({"player_id": STR, "balance": INT, "currency": STR,
               "roles": {"type": "array", "items": STR},
               "limits": {"type": "array", "items": ref("Limit")},
               "self_excluded_until": {"type": ["string", "null"], "format": "date-time"}}),
    "Insights": obj({"bets": INT, "wagered": INT, "net_result": INT, "expected_net": INT,
                     "expected_net_band": obj({"low": INT, "high": INT, "sigmas": INT}),
                     "commission_paid": INT, "tokens_burned": INT_OR_NULL}),
    "Withdrawal": obj({"id": UUID, "amount": INT, "status": {"enum": ["requested", "paid",
                                                                      "cancelled"]},
                       "requested_at": TIME,
                       "finished_at": {"type": ["string", "null"], "format": "date-time"}}),
}

# Finance burn reports; the report itself is schemas/burn_report.v1.json.
REPORT_ENTRY = {"id": STR, "kind": {"enum": ["daily", "weekly", "monthly", "custom"]},
                "from": TIME, "to": TIME}
SCHEMAS["ReportEntry"] = obj(REPORT_ENTRY)
SCHEMAS["Report"] = obj({**REPORT_ENTRY, "generated_at": TIME, "reconciled": {"type": "boolean"},
                         "mismatches": INT, "links": {"type": "object", "additionalProperties": STR}},
                        {"report": {"type": "object"}})

AMOUNT_IN = {"type": "integer", "minimum": 1}
LIMITS_IN = {"type": "object", "additionalProperties": False, "minProperties": 1,
             "properties": {k: {"type": "object", "additionalProperties": False,
                                "properties": {p: {"type": ["integer", "null"], "minimum": 0}
                                               for p in ("24h", "7d", "30d")}}
                            for k in ("deposit", "loss", "stake")}}


def op(summary: str, ok: int, schema: dict[str, Any] | None, *, auth: bool = True,
       body: dict[str, Any] | None = None, params: list[dict[str, Any]] | None = None,
       errors: tuple[int, ...] = (), also_ok: dict[int, str] | None = None) -> dict[str, Any]:
    """An operation answering `ok` (or a status of `also_ok`, e.g. a replay) with `schema`."""
    codes = set(errors) | ({401, 403} if auth else set()) | ({400, 415, 422} if body else set())
    responses: dict[str, Any] = {
        str(status): {"description": description, "content": {
            "application/json": {"schema": schema or {"type": "object"}}}}
        for status, description in {ok: "OK", **(also_ok or {})}.items()}
    for status in sorted(codes | {500}):
        responses[str(status)] = {"description": "Problem", "content": {
            "application/problem+json": {"schema": ref("Problem")}}}
    operation: dict[str, Any] = {"summary": summary, "responses": responses,
                                 "parameters": params or []}
    if auth:
        operation["security"] = [{"bearer": []}]
    if body:
        operation["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": body}}}
    return operation


def path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


PAGING = [query("cursor", STR), query("limit", {"type": "integer", "minimum": 1, "maximum": 100})]
ROUND_ID = [path_param("round_id")]


def paths() -> dict[str, Any]:
    return {
        "/v1/health": {"get": op("Liveness and database reachability", 200, None, auth=False)},
        "/v1/openapi.json": {"get": op("This document", 200, None, auth=False)},
        "/v1/markets": {"get": op("Active markets", 200, obj({"items": {
            "type": "array", "items": ref("Market")}}), auth=False)},
        "/v1/rounds": {"get": op("Rounds, newest first", 200, page_of("Round"), auth=False,
                                 params=[query("market", STR), query("status", {"enum": [
                                     "scheduled", "open", "locked", "settled", "refunded"]}),
                                     *PAGING], errors=(400, 422))},
        "/v1/rounds/{round_id}": {"get": op("A round with live odds per outcome", 200,
                                            ref("Round"), auth=False, params=ROUND_ID,
                                            errors=(404,))},
        "/v1/rounds/{round_id}/verify": {"get": op("Recompute the round's outcome", 200,
                                                   ref("Verification"), auth=False,
                                                   params=ROUND_ID, errors=(404,))},
        "/v1/rounds/{round_id}/bets": {"post": op(
            "Place a bet (Idempotency-Key required)", 201, ref("BetPlaced"),
            params=[*ROUND_ID, {"name": "Idempotency-Key", "in": "header", "required": True,
                                "schema": {"type": "string", "minLength": 1, "maxLength": 200}}],
            body={"type": "object", "required": ["outcome", "amount"],
                  "additionalProperties": False,
                  "properties": {"outcome": {"type": "integer", "minimum": 0},
                                 "amount": AMOUNT_IN}},
            errors=(404, 409, 429))},
        "/v1/me": {"get": op("Balance, limits and exclusion", 200, ref("Me"))},
        "/v1/me/bets": {"get": op("My bets, newest first", 200, page_of("Bet"), params=PAGING,
                                  errors=(422,))},
        "/v1/me/bets/{bet_id}": {"get": op("One of my bets", 200, ref("Bet"),
                                           params=[path_param("bet_id")], errors=(404,))},
        "/v1/me/insights": {"get": op("What I wagered, won and should have expected", 200,
                                      ref("Insights"))},
        "/v1/me/limits": {"put": op("Set limits: lower now, raise after 24 h", 200,
                                    obj({"limits": {"type": "array", "items": ref("Limit")}}),
                                    body=LIMITS_IN)},
        "/v1/me/self-exclusion": {"post": op("Exclude myself for a number of days", 201,
                                             obj({"self_excluded_until": TIME}),
                                             body={"type": "object", "required": ["days"],
                                                   "additionalProperties": False,
                                                   "properties": {"days": {
                                                       "type": "integer", "minimum": 1,
                                                       "maximum": 1825}}})},
        "/v1/me/withdrawals": {
            "post": op("Request a withdrawal (funds held)", 201, ref("Withdrawal"),
                       body={"type": "object", "required": ["id", "amount"],
                             "additionalProperties": False,
                             "properties": {"id": UUID, "amount": AMOUNT_IN}}, errors=(409,)),
            "get": op("My withdrawals", 200, obj({"items": {"type": "array",
                                                            "items": ref("Withdrawal")}}))},
        "/v1/deposits": {"post": op(
            "Payment provider webhook (Ember-Signature: t=…,v1=HMAC-SHA256)", 201,
            obj({"payment_id": STR, "player_id": STR, "amount": INT,
                 "credited": {"type": "boolean"}}), auth=False,
            params=[{"name": "Ember-Signature", "in": "header", "required": True,
                     "schema": STR}],
            body={"type": "object", "required": ["payment_id", "player_id", "amount"],
                  "additionalProperties": False,
                  "properties": {"payment_id": {"type": "string", "minLength": 1, "maxLength": 200},
                                 "player_id": {"type": "string", "minLength": 1, "maxLength": 128,
                                               "pattern": "^[^:]*$"},
                                 "amount": AMOUNT_IN}},
            errors=(401, 403, 409, 503),
            also_ok={200: "Already credited: a repeat of this payment_id changed nothing"})},
        "/v1/operator/withdrawals/{withdrawal_id}/paid": {"post": op(
            "Mark a withdrawal paid (operator)", 200, ref("Withdrawal"),
            params=[path_param("withdrawal_id")], errors=(404, 409))},
        "/v1/operator/withdrawals/{withdrawal_id}/cancelled": {"post": op(
            "Cancel a withdrawal, funds back to the player (operator)", 200, ref("Withdrawal"),
            params=[path_param("withdrawal_id")], errors=(404, 409))},
        "/v1/finance/ledger": {"get": op("Balances per account kind (finance)", 200, obj({
            "accounts": {"type": "array"}, "total": INT}))},
        "/v1/finance/reports": {"get": op("Burn reports, newest period first (finance)", 200,
                                          page_of("ReportEntry"), params=PAGING,
                                          errors=(422,))},
        "/v1/finance/reports/{report_id}": {"get": op(
            "A burn report: figures, a download link per format; ?content=json adds the report"
            " (finance)", 200, ref("Report"),
            params=[path_param("report_id"), query("content", {"enum": ["json"]})],
            errors=(404, 422))},
    }


@cache
def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Ember API", "version": "1",
                 "description": "Educational pari-mutuel betting. Amounts are integer USDT "
                                "minor units (6 decimals). Errors are application/problem+json"
                                " with a stable `code`."},
        "paths": paths(),
        "components": {"schemas": SCHEMAS, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }
