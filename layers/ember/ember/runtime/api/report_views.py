"""Finance burn reports over the API: the list, and one report's links or content.

    GET /v1/finance/reports?cursor=&limit=        newest period first
    GET /v1/finance/reports/{report_id}?content=json

Reports are read from where the scheduled function writes them (S3, or EMBER_REPORTS_DIR;
none when neither is set);
boto3 loads on the first call of these routes, never at the API's cold start.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from chalice import Chalice

from ember.adapters.auth import Principal
from ember.domain.burn_report import Period
from ember.domain.errors import EmberError, InvalidRequest

from . import context, cursor
from .endpoint import endpoint

if TYPE_CHECKING:
    from ember.adapters.reports.storage import ReportStorage


logger = Logger(service="ember", child=True)


class ReportNotFound(EmberError):
    code = "report_not_found"
    status = 404


def register(app: Chalice) -> None:
    @endpoint(app, "/v1/finance/reports", "GET", role="finance")
    def list_reports(principal: Principal) -> dict[str, Any]:
        """Stored reports, newest period first, with an opaque cursor."""
        query = app.current_request.query_params or {}
        limit = cursor.page_limit(query.get("limit"))
        after = decode_cursor(query.get("cursor"))
        store = storage()
        ids = store.report_ids() if store is not None else []
        start = ids.index(after) + 1 if after in ids else _position(ids, after)
        shown = ids[start:start + limit]
        more = start + limit < len(ids)
        return {"items": [report_entry(report_id) for report_id in shown],
                "next_cursor": encode_cursor(shown[-1]) if more and shown else None}

    @endpoint(app, "/v1/finance/reports/{report_id}", "GET", role="finance")
    def get_report(principal: Principal, report_id: str) -> dict[str, Any]:
        """The report's figures at a glance, a download link per format, and with
        `?content=json` the whole JSON report."""
        query = app.current_request.query_params or {}
        content = query.get("content")
        if content not in (None, "json"):
            raise InvalidRequest("content must be json", parameter="content")
        period = parse_report_id(report_id)
        store = storage()
        raw = store.read(period.report_id, "json") if store is not None else None
        if store is None or raw is None:
            raise ReportNotFound("no such report")
        document = json.loads(raw)
        settings = context.current().ember.settings
        body = {**report_entry(period.report_id),
                "generated_at": document["generated_at"],
                "reconciled": document["reconciliation"]["reconciled"],
                "mismatches": len(document["reconciliation"]["mismatches"]),
                "links": store.links(period.report_id, settings.report_link_ttl_s)}
        if content == "json":
            body["report"] = document
        return body


def storage() -> ReportStorage | None:
    """Where reports are kept; None when nowhere is configured (then there are none)."""
    settings = context.current().ember.settings
    if not (settings.reports_bucket or settings.reports_dir):
        logger.warning("reports_not_configured", extra={"setting": "EMBER_REPORTS_BUCKET"})
        return None
    from ember.runtime.report_wiring import report_storage

    return report_storage(settings)


def parse_report_id(report_id: str) -> Period:
    try:
        return Period.from_report_id(report_id)
    except ValueError:
        raise ReportNotFound("no such report") from None


def report_entry(report_id: str) -> dict[str, Any]:
    period = Period.from_report_id(report_id)
    return {"id": report_id, "kind": period.kind, "from": period.start.isoformat(),
            "to": period.end.isoformat()}


def encode_cursor(report_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(["report", report_id]).encode()).decode().rstrip("=")


def decode_cursor(raw: str | None) -> str | None:
    """The report id a cursor names; InvalidRequest when this API did not issue it."""
    if not raw:
        return None
    try:
        tag, report_id = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        if tag == "report" and isinstance(report_id, str):
            Period.from_report_id(report_id)
            return report_id
    except (ValueError, TypeError, binascii.Error, RecursionError):
        pass
    raise InvalidRequest("cursor is not one this API issued", parameter="cursor")


def _position(ids: list[str], after: str | None) -> int:
    """Where a page after a report that is gone starts: after every newer period."""
    if after is None:
        return 0
    gone = Period.from_report_id(after)
    key = (gone.end, gone.start, gone.kind)
    return sum(1 for report_id in ids if _sort_key(report_id) > key)


def _sort_key(report_id: str) -> tuple[Any, ...]:
    period = Period.from_report_id(report_id)
    return (period.end, period.start, period.kind)
