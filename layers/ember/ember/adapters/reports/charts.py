"""The report's charts as inline SVG: no script, no font or file fetched, so the HTML and the
PDF render the same offline.

```python
svg = supply_chart(document["supply_series"])     # '<svg class="chart" id="chart-supply" ...'
```
Amounts stay exact until they become pixels; every chart draws its axes as a path, so even
an empty period renders a chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from html import escape
from typing import Any

from ember.domain.burn_report import decimal_text

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 110, 20, 30, 40
TOKEN_WEI, STABLE_MINOR = 10**18, 10**6
BURN_COLOUR, COMMISSION_COLOUR, SUPPLY_COLOUR = "#c2410c", "#1d4ed8", "#0f766e"


def tokens(wei: int) -> str:
    return decimal_text(Fraction(wei, TOKEN_WEI), 4)


def usdt(minor: int) -> str:
    return decimal_text(Fraction(minor, STABLE_MINOR), 2)


def supply_chart(series: Sequence[dict[str, Any]]) -> str:
    """Total supply (whole tokens) at the period's start, after each burn, and at its end."""
    points = [(int(p["block"]), int(p["supply"])) for p in series]
    low, high = min(s for _, s in points), max(s for _, s in points)
    first, last = points[0][0], points[-1][0]
    span_x, span_y = max(last - first, 1), max(high - low, 1)

    def xy(block: int, supply: int) -> tuple[float, float]:
        x = LEFT + (WIDTH - LEFT - RIGHT) * (block - first) / span_x
        y = TOP + (HEIGHT - TOP - BOTTOM) * (1 - (supply - low) / span_y if high > low else 0.5)
        return round(x, 2), round(y, 2)

    steps = [xy(*points[0])]
    for block, supply in points[1:]:
        steps += [(xy(block, supply)[0], steps[-1][1]), xy(block, supply)]
    line = "M " + " L ".join(f"{x} {y}" for x, y in steps)
    labels = [_text(LEFT - 6, TOP + 4, tokens(high), "end"),
              _text(LEFT - 6, HEIGHT - BOTTOM, tokens(low), "end"),
              _text(LEFT, HEIGHT - BOTTOM + 16, f"block {first}", "start"),
              _text(WIDTH - RIGHT, HEIGHT - BOTTOM + 16, f"block {last}", "end")]
    body = [_axes(), f'<path class="series supply" d="{line}" fill="none" stroke="{SUPPLY_COLOUR}"'
            ' stroke-width="2"/>', *labels]
    return _svg("chart-supply", "Total supply over the period (tokens)", body)


def burned_chart(days: Sequence[dict[str, Any]]) -> str:
    """Tokens burned per day (the ledger)."""
    values = [int(d["burned"]) for d in days]
    body = [_axes(), *_bars(values, 0, 1, BURN_COLOUR, "burned"),
            *_day_labels(days), _text(LEFT - 6, TOP + 4, tokens(max(values, default=0)), "end")]
    return _svg("chart-burned", "Tokens burned per day", body)


def commission_chart(days: Sequence[dict[str, Any]]) -> str:
    """Per day, commission accrued (USDT) beside tokens burned, each on its own scale."""
    commission = [int(d["commission"]) for d in days]
    burned = [int(d["burned"]) for d in days]
    body = [_axes(), *_bars(commission, 0, 2, COMMISSION_COLOUR, "commission"),
            *_bars(burned, 1, 2, BURN_COLOUR, "burned"), *_day_labels(days),
            _legend(0, COMMISSION_COLOUR, f"commission (max {usdt(max(commission, default=0))} USDT)"),
            _legend(1, BURN_COLOUR, f"burned (max {tokens(max(burned, default=0))} tokens)")]
    return _svg("chart-commission-burned", "Commission accrued vs tokens burned, per day", body)


def _bars(values: Sequence[int], slot: int, slots: int, colour: str, name: str) -> list[str]:
    top = max(values, default=0)
    if not values or top <= 0:
        return []
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    group = plot_w / len(values)
    bar = group * 0.8 / slots
    drawn = []
    for index, value in enumerate(values):
        if value <= 0:
            continue
        height = round(plot_h * value / top, 2)
        x = round(LEFT + group * index + group * 0.1 + bar * slot, 2)
        drawn.append(f'<path class="series {name}" d="M {x} {HEIGHT - BOTTOM} v {-height}'
                     f' h {round(bar, 2)} v {height} Z" fill="{colour}"/>')
    return drawn


def _day_labels(days: Sequence[dict[str, Any]]) -> list[str]:
    if not days:
        return [_text(LEFT + 8, HEIGHT / 2, "no burns or commission in this period", "start")]
    group = (WIDTH - LEFT - RIGHT) / len(days)
    every = max(1, len(days) // 8)
    return [_text(LEFT + group * (i + 0.5), HEIGHT - BOTTOM + 16, str(d["day"])[5:], "middle")
            for i, d in enumerate(days) if i % every == 0]


def _legend(row: int, colour: str, label: str) -> str:
    y = 10 + 14 * row
    return (f'<path d="M {WIDTH - 300} {y} h 10 v 10 h -10 Z" fill="{colour}"/>'
            + _text(WIDTH - 284, y + 9, label, "start"))


def _axes() -> str:
    return (f'<path class="axes" d="M {LEFT} {TOP} V {HEIGHT - BOTTOM} H {WIDTH - RIGHT}"'
            ' fill="none" stroke="#555" stroke-width="1"/>')


def _text(x: float, y: float, label: str, anchor: str) -> str:
    return (f'<text x="{round(x, 2)}" y="{round(y, 2)}" text-anchor="{anchor}" font-size="11"'
            f' font-family="sans-serif" fill="#333">{escape(label)}</text>')


def _svg(chart_id: str, title: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{chart_id}"'
            f' viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img">'
            f'<title>{escape(title)}</title>{"".join(body)}</svg>')
