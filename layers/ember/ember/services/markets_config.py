"""Use case: load the markets file checked into the repo and sync it to the database."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Protocol

from ember.domain.errors import InvalidMarket
from ember.domain.markets import Market

_FIELDS = set(Market.__dataclass_fields__)


class MarketStore(Protocol):
    def sync(self, markets: list[Market]) -> None: ...


def load_markets(path: Path) -> list[Market]:
    """Every market in the TOML file, validated; InvalidMarket names the bad one."""
    document = tomllib.loads(path.read_text())
    markets = []
    for entry in document.get("market", []):
        unknown = set(entry) - _FIELDS
        if unknown:
            raise InvalidMarket(f"market {entry.get('id')!r}: unknown keys {sorted(unknown)}")
        markets.append(Market(**{**entry, "outcomes": tuple(entry.get("outcomes", ()))}))
    if len({m.id for m in markets}) != len(markets):
        raise InvalidMarket(f"{path}: duplicate market ids")
    return markets


def sync_markets(path: Path, *, store: MarketStore) -> list[Market]:
    markets = load_markets(path)
    store.sync(markets)
    return markets
