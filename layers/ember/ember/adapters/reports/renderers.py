"""The burn report's formats, each rendered from the one JSON document.

```python
files = render_all(document)     # {"json": b"...", "csv": b"...", "html": b"...", "pdf": b"..."}
```
Mismatches come first in every format: CSV rows with record `mismatch` before any other,
`reconciliation.mismatches` in JSON, a red `class="mismatch"` section at the top of the HTML
page and so of the PDF printed from it. Other holders' burns are information, never a
mismatch: CSV rows `other_burn` and the `total` row `burned_by_other_holders`, the JSON's
`chain.burned_by_other_holders`, a summary line and a section of their own in HTML and PDF.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

from . import charts

FORMATS = ("json", "csv", "html", "pdf")
CONTENT_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8",
                 "html": "text/html; charset=utf-8", "pdf": "application/pdf"}
CSV_COLUMNS = ("record", "id", "check", "detail", "expected", "actual", "difference", "unit",
               "venue", "spent_usdt_minor", "tokens_received_wei", "average_price",
               "reference_price", "slippage_bps", "tx_hash_or_order", "burned_wei",
               "dividend_wei", "burn_tx_hash", "dividend_tx_hash", "burn_block", "at", "count")
OTHER_HOLDERS = "burned by other holders on chain (information: not Ember's, not a mismatch)"


def render_json(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


def render_csv(document: dict[str, Any]) -> bytes:
    """One row per mismatch (first), then per buy-back, per burn of the ledger and per burn
    of another holder, then the total burned by other holders and the checks."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for m in document["reconciliation"]["mismatches"]:
        writer.writerow({"record": "mismatch", "id": m["reference"] or "", "check": m["check"],
                         "detail": m["detail"], "expected": m["expected"], "actual": m["actual"],
                         "difference": m["difference"], "unit": m["unit"]})
    for b in document["buybacks"]:
        proof = f"order {b['client_order_id']}" if b["client_order_id"] else " ".join(b["tx_hashes"])
        writer.writerow({"record": "buyback", "id": b["id"], "venue": b["venue"],
                         "spent_usdt_minor": b["spent"], "tokens_received_wei": b["tokens_received"],
                         "average_price": b["average_price"], "reference_price": b["reference_price"],
                         "slippage_bps": b["slippage_bps"], "tx_hash_or_order": proof,
                         "at": b["finished_at"]})
    for b in document["burns"]:
        writer.writerow({"record": "burn", "id": b["buyback_id"], "burned_wei": b["burned"],
                         "dividend_wei": b["dividend"], "burn_tx_hash": b["burn_tx_hash"] or "",
                         "dividend_tx_hash": b["dividend_tx_hash"] or "",
                         "burn_block": "" if b["burn_block"] is None else b["burn_block"],
                         "at": b["finished_at"] or ""})
    chain = document["chain"]
    for e in chain["burn_events"]:
        if e["by"] == "other_holder":
            writer.writerow({"record": "other_burn", "id": e["from"] or "",
                             "detail": "burned by another holder", "burned_wei": e["amount"],
                             "burn_tx_hash": e["tx_hash"], "burn_block": e["block"],
                             "at": e["time"] or "", "unit": "token wei"})
    writer.writerow({"record": "total", "id": "burned_by_other_holders", "detail": OTHER_HOLDERS,
                     "burned_wei": chain["burned_by_other_holders"],
                     "count": chain["burns_by_other_holders"], "unit": "token wei"})
    for c in document["reconciliation"]["checks"]:
        writer.writerow({"record": "check", "id": "ok" if c["ok"] else "MISMATCH",
                         "check": c["name"], "detail": f"{c['left_label']} = {c['right_label']}",
                         "expected": c["left"], "actual": c["right"],
                         "difference": c["difference"], "unit": c["unit"]})
    return out.getvalue().encode()


def render_html(document: dict[str, Any]) -> bytes:
    """The page: mismatches first in red, the figures, three inline SVG charts, the lines."""
    from jinja2 import Environment, PackageLoader, select_autoescape  # reports only

    env = Environment(loader=PackageLoader("ember.adapters.reports", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["tokens"] = lambda wei: charts.tokens(int(wei))
    env.filters["usdt"] = lambda minor: charts.usdt(int(minor))
    page = env.get_template("burn_report.html.j2").render(
        report=document,
        charts={"supply": charts.supply_chart(document["supply_series"]),
                "burned": charts.burned_chart(document["days"]),
                "commission": charts.commission_chart(document["days"])})
    return page.encode()


def render_pdf(html: bytes) -> bytes:
    """The HTML page printed to PDF by WeasyPrint, offline (nothing is fetched)."""
    from weasyprint import HTML  # reports only: pango/cairo load here

    def refuse(url: str, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"the report fetches nothing: {url}")
    pdf = HTML(string=html.decode(), url_fetcher=refuse).write_pdf()
    assert pdf is not None
    return bytes(pdf)


def render_all(document: dict[str, Any],
               formats: tuple[str, ...] = FORMATS) -> dict[str, bytes]:
    """Every format asked for (PDF is printed from the HTML)."""
    rendered: dict[str, bytes] = {}
    makers: dict[str, Callable[[], bytes]] = {
        "json": lambda: render_json(document), "csv": lambda: render_csv(document),
        "html": lambda: rendered.get("html") or render_html(document),
        "pdf": lambda: render_pdf(rendered.get("html") or render_html(document))}
    for name in ("json", "csv", "html", "pdf"):
        if name in formats:
            rendered[name] = makers[name]()
    return rendered
