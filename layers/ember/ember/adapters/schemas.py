"""Event JSON Schemas (draft 2020-12), shipped inside the package: loading and validation.

```python
from ember.adapters.schemas import InvalidEvent, validate

validate(json.loads(message_value))   # raises InvalidEvent("payload.amount: 0 is less than ...")
```
One file per event type and version (`commission.accrued.v1.json`), each built on
`envelope.json`. `docs/events/` mirrors these files; `docs/asyncapi.yaml` points at them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource

from ember.domain.errors import EmberError

ENVELOPE = "envelope.json"


class InvalidEvent(EmberError):
    """A message that is not a valid Ember event; `detail` names the member and the problem."""

    code = "invalid_event"
    status = 422


def schema_files() -> dict[str, dict[str, Any]]:
    """Every schema shipped with the package, by file name."""
    return dict(_schemas())


def schema_for(event_type: str, version: int) -> dict[str, Any]:
    """The schema of one event type and version; InvalidEvent when there is none."""
    validator = _validators().get((event_type, version))
    if validator is None:
        raise InvalidEvent(f"type: no schema for {event_type!r} version {version!r}",
                           event_type=event_type, version=version)
    return dict(validator.schema)


def validate(envelope: Mapping[str, Any]) -> None:
    """Returns when `envelope` is a valid event of a known type and version, else raises InvalidEvent."""
    _check(_envelope_validator(), envelope)
    event_type, version = envelope["type"], envelope["version"]
    schema_for(event_type, version)  # names an unknown type or version
    _check(_validators()[(event_type, version)], envelope)


def _check(validator: Draft202012Validator, envelope: Mapping[str, Any]) -> None:
    error = best_match(validator.iter_errors(envelope))
    if error is not None:
        event_type = envelope.get("type") if isinstance(envelope, Mapping) else None
        raise InvalidEvent(_describe(error), event_type=event_type, path=error.json_path)


def _describe(error: ValidationError) -> str:
    where = ".".join(str(part) for part in error.absolute_path) or "(envelope)"
    return f"{where}: {error.message}"


@cache
def _schemas() -> tuple[tuple[str, dict[str, Any]], ...]:
    folder = resources.files("ember") / "schemas"
    return tuple(sorted((entry.name, json.loads(entry.read_text(encoding="utf-8")))
                        for entry in folder.iterdir() if entry.name.endswith(".json")))


@cache
def _registry() -> Registry:
    # Schemas refer to each other by $id (relative "envelope.json" resolves against it), so
    # nothing is fetched over the network.
    by_id = {schema["$id"]: Resource.from_contents(schema) for _, schema in _schemas()}
    return Registry().with_resources(by_id.items())


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, registry=_registry(),
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


@cache
def _envelope_validator() -> Draft202012Validator:
    return _validator(dict(_schemas())[ENVELOPE])


@cache
def _validators() -> dict[tuple[str, int], Draft202012Validator]:
    """Event schemas by (type, version), read from their `const`s."""
    found: dict[tuple[str, int], Draft202012Validator] = {}
    for name, schema in _schemas():
        if name == ENVELOPE:
            continue
        properties = schema["properties"]
        found[(properties["type"]["const"], properties["version"]["const"])] = _validator(schema)
    return found
