"""Metrics: one small interface, CloudWatch EMF on Lambda and Prometheus in the HTTP adapter.

```python
from ember.runtime import metrics

metrics.count(metrics.BETS_PLACED)
metrics.observe(metrics.BET_LATENCY, 0.012)
metrics.count(metrics.DEAD_LETTERS, consumer="burn")
```
`METRIC_NAMES` is the catalogue: every metric's Prometheus name, its CloudWatch name (namespace
`Ember`, dimensions `service` plus the labels) and its labels. Dashboards and alarms read it;
a name outside it is refused, so code and dashboards cannot drift apart.

The backend is chosen once per process: EMF when running in Lambda (each call prints one EMF
line to stdout, which CloudWatch turns into metrics), Prometheus elsewhere (`/metrics` of the
HTTP adapter), nothing when prometheus-client is not installed. Importing this module loads
neither library: the API's cold start stays small.
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Literal

NAMESPACE = "Ember"
SERVICE = "ember"

Kind = Literal["counter", "histogram", "gauge"]


@dataclass(frozen=True)
class Metric:
    """One metric as both backends name it."""

    prometheus: str  # counters end in _total, as Prometheus exposes them
    cloudwatch: str
    kind: Kind
    unit: str  # the EMF unit: Count, Seconds or None
    description: str
    labels: tuple[str, ...] = ()


BETS_PLACED = "bets_placed"
BET_LATENCY = "bet_latency"
ROUNDS_SETTLED = "rounds_settled"
SETTLEMENT_LATENCY = "settlement_latency"
COMMISSION_ACCRUED = "commission_accrued"
BUYBACKS = "buybacks"
TOKENS_BURNED = "tokens_burned"
TOKEN_SUPPLY = "token_supply"
ERRORS = "errors"
KAFKA_RECORDS = "kafka_records"
DEAD_LETTERS = "dead_letters"
CONSUMER_LAG = "consumer_lag"
WALLET_GAS_BALANCE = "wallet_gas_balance"

METRIC_NAMES: dict[str, Metric] = {
    BETS_PLACED: Metric("ember_bets_placed_total", "BetsPlaced", "counter", "Count",
                        "Bets accepted (replays of an idempotency key not counted)."),
    BET_LATENCY: Metric("ember_bet_latency_seconds", "BetLatency", "histogram", "Seconds",
                        "Time to place one bet, replays included."),
    ROUNDS_SETTLED: Metric("ember_rounds_settled_total", "RoundsSettled", "counter", "Count",
                           "Rounds resolved, by final status (settled, refunded).", ("status",)),
    SETTLEMENT_LATENCY: Metric("ember_settlement_latency_seconds", "SettlementLatency", "histogram",
                               "Seconds", "Time to resolve one round (its one transaction)."),
    COMMISSION_ACCRUED: Metric("ember_commission_accrued_total", "CommissionAccrued", "counter",
                               "Count", "Commission of settled rounds, in minor units (USDT 6 dp)."),
    BUYBACKS: Metric("ember_buybacks_total", "Buybacks", "counter", "Count",
                     "Buy-backs by result: bought or refused.", ("result",)),
    TOKENS_BURNED: Metric("ember_tokens_burned_total", "TokensBurned", "counter", "Count",
                          "Tokens burned on chain, in the token's base units."),
    TOKEN_SUPPLY: Metric("ember_token_supply", "TokenSupply", "gauge", "None",
                         "Total supply seen after the last burn, in base units."),
    ERRORS: Metric("ember_errors_total", "Errors", "counter", "Count",
                   "Failures by where they happened: http, schedule, kafka_record, kafka_after.",
                   ("source",)),
    KAFKA_RECORDS: Metric("ember_kafka_records_total", "KafkaRecords", "counter", "Count",
                          "Records handled, by consumer and outcome (processed, duplicate, retry,"
                          " dead_lettered).", ("consumer", "outcome")),
    DEAD_LETTERS: Metric("ember_dead_letters_total", "DeadLetters", "counter", "Count",
                         "Records sent to a consumer's dead-letter topic.", ("consumer",)),
    CONSUMER_LAG: Metric("ember_consumer_lag_seconds", "ConsumerLag", "gauge", "Seconds",
                         "Age of the oldest record of the last batch a consumer got.",
                         ("consumer",)),
    WALLET_GAS_BALANCE: Metric("ember_wallet_gas_balance_wei", "WalletGasBalanceWei", "gauge", "None",
                               "The technical wallet's native balance (gas) after a buy or burn run;"
                               " the wallet-gas-low alarm watches it."),
}

# Latencies from 1 ms to 10 s: a bet is a few ms, a settlement tens of ms.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics(ABC):
    """Where measurements go; `name` is a key of METRIC_NAMES, labels its declared labels."""

    @abstractmethod
    def record(self, name: str, value: float, labels: dict[str, str]) -> None: ...


class NullMetrics(Metrics):
    """Drops everything (no backend installed)."""

    def record(self, name: str, value: float, labels: dict[str, str]) -> None:
        pass


class EmfMetrics(Metrics):
    """CloudWatch Embedded Metric Format through Powertools: one stdout line per call."""

    def record(self, name: str, value: float, labels: dict[str, str]) -> None:
        from aws_lambda_powertools.metrics import EphemeralMetrics

        metric = METRIC_NAMES[name]
        # Ephemeral: no state shared with other Metrics instances, dimensions per call.
        emf = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
        for label, label_value in labels.items():
            emf.add_dimension(name=label, value=label_value)
        emf.add_metric(name=metric.cloudwatch, unit=metric.unit, value=value)
        emf.flush_metrics()


class PrometheusMetrics(Metrics):
    """prometheus-client collectors in their own registry, exposed by `exposition()`."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry(auto_describe=True)
        self._collectors: dict[str, Any] = {}
        for key, metric in METRIC_NAMES.items():
            if metric.kind == "counter":
                # The client adds "_total" itself.
                collector: Any = Counter(metric.prometheus.removesuffix("_total"), metric.description,
                                         metric.labels, registry=self.registry)
            elif metric.kind == "histogram":
                collector = Histogram(metric.prometheus, metric.description, metric.labels,
                                      buckets=BUCKETS, registry=self.registry)
            else:
                collector = Gauge(metric.prometheus, metric.description, metric.labels,
                                  registry=self.registry)
            self._collectors[key] = collector

    def record(self, name: str, value: float, labels: dict[str, str]) -> None:
        collector = self._collectors[name]
        if labels:
            collector = collector.labels(**labels)
        kind = METRIC_NAMES[name].kind
        if kind == "counter":
            collector.inc(value)
        elif kind == "histogram":
            collector.observe(value)
        else:
            collector.set(value)

    def exposition(self) -> tuple[bytes, str]:
        """The registry in Prometheus text format, and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


_backend: Metrics | None = None
_choosing = threading.Lock()


def backend() -> Metrics:
    """The process's backend, chosen on first use (see the module's docstring)."""
    global _backend
    if _backend is None:
        with _choosing:
            if _backend is None:
                _backend = _default_backend()
    return _backend


def use(chosen: Metrics | None) -> None:
    """Replaces the process's backend (tests); None chooses again on next use."""
    global _backend
    _backend = chosen


def _default_backend() -> Metrics:
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return EmfMetrics()
    try:
        return PrometheusMetrics()
    except ImportError:
        return NullMetrics()


def count(name: str, value: float = 1, **labels: str) -> None:
    """Adds `value` to counter `name`."""
    _record(name, value, labels, "counter")


def observe(name: str, value: float, **labels: str) -> None:
    """Records one observation (seconds) of histogram `name`."""
    _record(name, value, labels, "histogram")


def gauge(name: str, value: float, **labels: str) -> None:
    """Sets gauge `name` to `value`."""
    _record(name, value, labels, "gauge")


def _record(name: str, value: float, labels: dict[str, str], kind: Kind) -> None:
    metric = METRIC_NAMES.get(name)
    if metric is None or metric.kind != kind:
        raise ValueError(f"{name!r} is not a {kind} of METRIC_NAMES")
    if set(labels) != set(metric.labels):
        raise ValueError(f"{name!r} takes labels {metric.labels}, not {tuple(labels)}")
    try:
        backend().record(name, value, {k: str(v) for k, v in labels.items()})
    except Exception:  # a metric must never fail the work it measures
        from aws_lambda_powertools import Logger

        Logger(service=SERVICE, child=True).exception("metric_failed", extra={"metric": name})
