"""Metrics: one catalogue, EMF lines on Lambda, Prometheus text in the HTTP adapter."""

import json

import pytest

from ember.runtime import metrics


@pytest.fixture
def prometheus():
    backend = metrics.PrometheusMetrics()
    metrics.use(backend)
    yield backend
    metrics.use(None)


def test_counters_histograms_and_gauges_reach_the_prometheus_exposition(prometheus):
    metrics.count(metrics.BETS_PLACED)
    metrics.observe(metrics.BET_LATENCY, 0.004)
    metrics.count(metrics.DEAD_LETTERS, consumer="burn")
    metrics.gauge(metrics.TOKEN_SUPPLY, 990)
    text, content_type = prometheus.exposition()
    assert content_type.startswith("text/plain")
    lines = text.decode().splitlines()
    assert "ember_bets_placed_total 1.0" in lines
    assert 'ember_bet_latency_seconds_bucket{le="0.005"} 1.0' in lines
    assert 'ember_dead_letters_total{consumer="burn"} 1.0' in lines
    assert "ember_token_supply 990.0" in lines


def test_a_name_or_label_outside_the_catalogue_is_refused(prometheus):
    with pytest.raises(ValueError, match="not a counter"):
        metrics.count("bets_made")
    with pytest.raises(ValueError, match="takes labels"):
        metrics.count(metrics.DEAD_LETTERS)


def test_on_lambda_each_measurement_is_one_emf_line_in_the_ember_namespace(capsys):
    metrics.use(metrics.EmfMetrics())
    try:
        metrics.count(metrics.BUYBACKS, 2, result="bought")
    finally:
        metrics.use(None)
    line = json.loads(capsys.readouterr().out.strip())
    (directive,) = line["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "Ember"
    assert directive["Metrics"] == [{"Name": "Buybacks", "Unit": "Count"}]
    assert sorted(directive["Dimensions"][0]) == ["result", "service"]
    assert line["Buybacks"] in (2.0, [2.0]) and line["result"] == "bought"


def test_the_lambda_backend_is_chosen_in_lambda_and_prometheus_elsewhere(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "ember-burn")
    metrics.use(None)
    assert isinstance(metrics.backend(), metrics.EmfMetrics)
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME")
    metrics.use(None)
    assert isinstance(metrics.backend(), metrics.PrometheusMetrics)
    metrics.use(None)


def test_every_catalogue_entry_is_named_as_its_backends_expect():
    for metric in metrics.METRIC_NAMES.values():
        assert metric.prometheus.startswith("ember_")
        assert metric.prometheus.endswith("_total") == (metric.kind == "counter")
        assert metric.cloudwatch.isalnum() and metric.cloudwatch[0].isupper()
