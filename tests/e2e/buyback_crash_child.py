"""A buy_tokens/burn function process for the buy-back crash-point test: it delivers MSK
batches to the real handlers, and dies (os._exit, no cleanup) at one named crash point.

    python -m tests.e2e.buyback_crash_child CASE.json     # one run in this process
    python -m tests.e2e.buyback_crash_child --serve       # a zygote: see `serve`

CASE.json: {"env": {...settings...}, "dir": "...", "steps": ["buy_tokens", "burn"],
"crash": "buyback:swap@after_send" | "buybacks@before_record" | null}.

The process sets `env` as its environment, so `current_app()` builds the app the way a
deployed function does, then runs each step: the step's batch (`dir`/commission.json,
written by the test; for burn, `dir`/bought.json, read from Kafka by the first process that
needs it and reused, as MSK redelivers the same batch) goes to the handler again and again
until the handler reports no failure (MSK redelivering a failed batch), at most
MAX_DELIVERIES times. The responses go to `dir`/result.json.

Crash points, all installed from here (the production code has no test hook but the
intents' own `crash_at`):
- `<kind>:<step>@<point>`: the technical wallet's intent whose purpose is
  `<kind>:<buy-back id>:<step>` (buyback:approve, buyback:swap, burn:burn, burn:approve,
  burn:deposit) at `before_sign` (the signer is about to sign it) or at one of
  TransactionIntents' own crash points: `after_sign` (signed, not recorded), `after_record`
  (recorded and committed, not broadcast), `after_send` (broadcast, not marked sent),
  `before_receipt` (marked sent, its receipt not read);
- `buybacks@before_record` / `burns@before_record`: the route bought (the burn and the
  deposit are mined) but the store has not recorded it;
- `buybacks@before_emit` / `burns@before_emit`: the store committed the record (and the
  event into the outbox) but the event is not published.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

CRASHED = 17
FAILED = 1
MAX_DELIVERIES = 5
CHILD_DEADLINE_S = 110  # under the test's 120 s wait for an answer
DELIVERED: dict[str, list[Any]] = {"batchItemFailures": []}
INTENT_POINTS = ("before_sign", "after_sign", "after_record", "after_send", "before_receipt")
STORE_POINTS = ("before_record", "before_emit")
ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = (ROOT / "functions" / "buy_tokens" / "app.py", ROOT / "functions" / "burn" / "app.py")


def crash() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(CRASHED)


def short_purpose(purpose: str) -> str:
    """`buyback:<id>:swap` as `buyback:swap`."""
    return purpose.split(":", 1)[0] + ":" + purpose.rsplit(":", 1)[-1]


class CrashingSigner:
    """The wallet's signer, dying just before it signs the chosen purpose's transaction."""

    def __init__(self, signer: Any, armed: Any) -> None:
        self._signer, self._armed = signer, armed

    @property
    def address(self) -> str:
        return str(self._signer.address)

    def sign_transaction(self, tx: dict[str, Any]) -> Any:
        if self._armed("before_sign"):
            crash()
        return self._signer.sign_transaction(tx)


def install_crash(app: Any, spec: str) -> None:
    """Arms the crash point `spec` on this process's app."""
    target, point = spec.split("@")
    if target in ("buybacks", "burns"):
        _crash_in_store(target, point)
        return
    assert point in INTENT_POINTS, spec
    intents = app.chain.intents
    current = {"purpose": ""}

    def armed(at: str) -> bool:
        return at == point and short_purpose(current["purpose"]) == target

    def crash_at(at: str) -> None:
        if armed(at):
            crash()

    def tracking(method: Any) -> Any:
        def call(purpose: str, *args: Any, **kwargs: Any) -> Any:
            current["purpose"] = purpose
            return method(purpose, *args, **kwargs)
        return call

    intents.submit = tracking(intents.submit)
    intents.wait = tracking(intents.wait)
    intents.crash_at = crash_at
    intents.signer = CrashingSigner(intents.signer, armed)


def _crash_in_store(store: str, point: str) -> None:
    """The store's record step (mark_bought / finish_burn) dies just before or just after it."""
    assert point in STORE_POINTS, point
    if store == "buybacks":
        from ember.adapters.postgres.buybacks import PostgresBuybacks as cls
        name = "mark_bought"
    else:
        from ember.adapters.postgres.burns import PostgresBurns as cls  # type: ignore[assignment]
        name = "finish_burn"
    record = getattr(cls, name)

    def recording(self: Any, *args: Any, **kwargs: Any) -> Any:
        if point == "before_record":
            crash()
        record(self, *args, **kwargs)
        crash()  # before_emit: committed, the handler's publish not reached

    setattr(cls, name, recording)


def batch_for(step: str, app: Any, directory: Path) -> dict[str, Any]:
    """The MSK batch `step` is delivered: the same one on every delivery and every restart."""
    file = directory / ("commission.json" if step == "buy_tokens" else "bought.json")
    if file.exists():
        return dict(json.loads(file.read_text()))
    assert step == "burn", f"no batch for {step} in {directory}"
    from ember.domain.events import BUYBACKS_TOPIC
    from tests.e2e.buyback_stack import batch, read_records

    (row,) = app.db.run(lambda conn: conn.execute("SELECT id FROM buybacks").fetchall())
    records = read_records(app.settings.kafka_bootstrap_servers or "", BUYBACKS_TOPIC,
                           str(row["id"]))
    event = batch(records[:1])
    written = file.with_suffix(".tmp")
    written.write_text(json.dumps(event))
    written.replace(file)
    return event


def main(case: dict[str, Any]) -> None:
    os.environ.update({k: str(v) for k, v in case["env"].items()})
    import ember.runtime.consumers as consumers
    from ember.runtime.consumers.registry import load as load_consumers
    from ember.runtime.entry import current_app
    from tests.e2e.buyback_stack import DeadLetterList

    directory = Path(case["dir"])
    app = current_app()  # built from the environment, as the deployed function builds it
    dead_letters = DeadLetterList()
    consumers._dead_letters = dead_letters  # type: ignore[assignment]
    registry = load_consumers(",".join(str(path) for path in FUNCTIONS))
    if case.get("crash"):
        install_crash(app, case["crash"])
    responses: dict[str, list[Any]] = {}
    for step in case["steps"]:
        handler = registry.get(step).handler
        event = batch_for(step, app, directory)
        responses[step] = []
        while len(responses[step]) < MAX_DELIVERIES:
            responses[step].append(handler(event, None))
            if responses[step][-1] == DELIVERED:
                break
    (directory / "result.json").write_text(json.dumps(
        {"responses": responses, "dead_letters": len(dead_letters.sent)}))


def run_case(path: str) -> int:
    """Runs the case in this process; its exit code (CRASHED never returns: the process dies)."""
    try:
        main(json.loads(Path(path).read_text()))
    except BaseException:
        traceback.print_exc()
        return FAILED
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return 0


def serve() -> None:
    """A zygote: imports everything once, then for each case path read from stdin forks a
    fresh process that runs it (nothing is connected or built before the fork, so each child
    starts as a restarted function would, with its modules already loaded), and answers
    with its exit code as one JSON line. A child's output goes to `dir`/<name>.log."""
    import kafka  # noqa: F401
    import web3  # noqa: F401

    import ember.runtime.bootstrap  # noqa: F401
    import ember.runtime.chain_wiring  # noqa: F401
    import tests.e2e.buyback_stack  # noqa: F401
    from ember.runtime.consumers.registry import load as load_consumers

    load_consumers(",".join(str(path) for path in FUNCTIONS))
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # nothing but answers on the protocol's stream
    for line in sys.stdin:
        path, log = line.strip().split("\t")
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            signal.alarm(CHILD_DEADLINE_S)  # a hung run dies rather than outlive the test
            out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(out, 1)
            os.dup2(out, 2)
            os._exit(run_case(path))
        _, status = os.waitpid(pid, 0)
        protocol.write(json.dumps({"exit": os.waitstatus_to_exitcode(status)}) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        os._exit(run_case(sys.argv[1]))
