"""infra/grafana/ember.json queries only metrics the code exports (METRIC_NAMES)."""

import json
import re

from ember.runtime.metrics import METRIC_NAMES
from tests.conftest import ROOT

DASHBOARD = ROOT / "infra" / "grafana" / "ember.json"
# What the Prometheus client exposes for each kind of metric.
SERIES = {"counter": ("",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}


def known_series() -> set[str]:
    return {m.prometheus + suffix for m in METRIC_NAMES.values() for suffix in SERIES[m.kind]}


def panels() -> list[dict]:
    return json.loads(DASHBOARD.read_text())["panels"]


def test_every_panel_expr_names_only_known_metrics():
    known = known_series()
    for panel in panels():
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            named = set(re.findall(r"\bember_[a-z_]+", target["expr"]))
            assert named, f"{panel['title']}: {target['expr']} names no Ember metric"
            assert named <= known, f"{panel['title']}: unknown {named - known}"


def test_the_dashboard_covers_every_metric_and_uses_a_prometheus_datasource():
    used = {name for panel in panels() for target in panel["targets"]
            for name in re.findall(r"\bember_[a-z_]+", target["expr"])}
    for metric in METRIC_NAMES.values():
        assert any(name.startswith(metric.prometheus) for name in used), metric.prometheus
    assert all(panel["datasource"]["type"] == "prometheus" for panel in panels())
    assert len({panel["id"] for panel in panels()}) == len(panels())
