"""The stack's state file (`<root>/stack.json`) and the lock that serialises `up` and `down`."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from ember.runtime.local_stack.errors import StackError

STATE_FILE = "stack.json"
LOCK_FILE = "stack.lock"


@dataclass(frozen=True)
class ServiceRecord:
    """One embedded service this stack started: enough to find, check and stop it later."""

    name: str
    pid: int
    port: int
    url: str
    started_at: float  # process creation time; tells our process apart from a recycled pid


def load(root: Path) -> dict[str, ServiceRecord]:
    """The recorded services by name; empty when there is no state file yet."""
    path = root / STATE_FILE
    if not path.exists():
        return {}
    try:
        services = json.loads(path.read_text())["services"]
        return {name: ServiceRecord(name=name, **fields) for name, fields in services.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StackError(
            f"stack state file {path} is unreadable ({exc}); stop any stray services and delete it"
        ) from exc


def save(root: Path, records: dict[str, ServiceRecord]) -> None:
    """Writes the records atomically, so a concurrent reader sees the old or the new file."""
    path = root / STATE_FILE
    services = {name: _fields(record) for name, record in sorted(records.items())}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"services": services}, indent=2) + "\n")
    os.replace(tmp, path)


def _fields(record: ServiceRecord) -> dict[str, object]:
    fields = asdict(record)
    del fields["name"]  # the key already says it
    return fields


@contextmanager
def locked(root: Path, log: Callable[[str], None]) -> Iterator[None]:
    """Holds an exclusive lock on `<root>/stack.lock` for the body of the `with` block."""
    with (root / LOCK_FILE).open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"stack waiting_for_lock path={root / LOCK_FILE}")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
