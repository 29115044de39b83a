"""Which consumers exist: each one's name (= consumer group), topics and Lambda handler."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Consumer:
    """A consumer as an event source mapping sees it: a group reading topics into a handler."""

    name: str
    topics: tuple[str, ...]
    handler: Callable[[Any, Any], dict[str, Any]]


class Registry:
    """Consumers by name; a name is registered once."""

    def __init__(self, consumers: tuple[Consumer, ...] = ()) -> None:
        self._consumers: dict[str, Consumer] = {}
        for consumer in consumers:
            self.register(consumer)

    def register(self, consumer: Consumer) -> Consumer:
        """`consumer`, now registered; ValueError when its name is taken or it reads nothing."""
        if consumer.name in self._consumers:
            raise ValueError(f"consumer {consumer.name!r} is already registered")
        if not consumer.topics:
            raise ValueError(f"consumer {consumer.name!r} reads no topic")
        self._consumers[consumer.name] = consumer
        return consumer

    def get(self, name: str) -> Consumer:
        """The consumer called `name`; KeyError naming the known ones when there is none."""
        try:
            return self._consumers[name]
        except KeyError:
            raise KeyError(f"unknown consumer {name!r} (known: {', '.join(self) or 'none'})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._consumers))

    def __len__(self) -> int:
        return len(self._consumers)


# The deployed consumers (buy_tokens on ember.commission, burn on ember.buybacks) register
# here when their function is imported (EMBER_CONSUMER_MODULES=functions/buy_tokens/app.py,
# functions/burn/app.py), so a local host can run a LocalEventSourceMapping for each.
consumers = Registry()


def load(modules: str) -> Registry:
    """The registry after importing `modules` (comma-separated), which register consumers.

    An entry ending in `.py` is a file, e.g. `functions/burn/app.py` (a function's folder is
    not a package); it is imported once per process, as `ember_function_<folder>`.
    """
    for name in filter(None, (m.strip() for m in modules.split(","))):
        if name.endswith(".py"):
            _import_file(Path(name))
        else:
            importlib.import_module(name)
    return consumers


def _import_file(path: Path) -> None:
    name = f"ember_function_{path.resolve().parent.name}"
    if name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import consumer module {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
