"""Which consumers exist: each one's name (= consumer group), topics and Lambda handler."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
# here once their services exist, so a local host can run a LocalEventSourceMapping for each.
consumers = Registry()


def load(modules: str) -> Registry:
    """The registry after importing `modules` (comma-separated), which register consumers."""
    for name in filter(None, (m.strip() for m in modules.split(","))):
        importlib.import_module(name)
    return consumers
