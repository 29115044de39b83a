import io
import json
import uuid

from aws_lambda_powertools import Logger

from ember.adapters.postgres.ledger import Deposit
from ember.domain.clock import SystemClock
from ember.runtime.logging import configure, new_correlation
from ember.services.cashier import credit_deposit


class FakeLedger:
    def deposit(self, external_id, player_id, amount, now, allow=None):
        return Deposit(external_id, player_id, amount, amount, False)


def logged(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_service_logs_are_ecs_json_events_with_the_correlation_id():
    stream = io.StringIO()
    logger = configure("INFO", stream=stream)
    cid = new_correlation(logger, str(uuid.uuid4()))
    credit_deposit("psp-1", "alice", 5, ledger=FakeLedger(), clock=SystemClock())
    credit_deposit("psp-2", "alice", 7, ledger=FakeLedger(), clock=SystemClock())
    lines = logged(stream)
    assert [line["message"] for line in lines] == ["deposit_credited", "deposit_credited"]
    assert all(line["labels.correlation_id"] == cid for line in lines)
    assert all(line["service.name"] == "ember" and line["log.level"] == "info" for line in lines)
    assert lines[0]["@timestamp"].endswith("+00:00") and "ecs.version" in lines[0]
    assert lines[1]["ember"]["amount"] == 7 and lines[1]["ember"]["external_id"] == "psp-2"
    assert isinstance(lines[1]["log.origin.file.line"], int)


def test_a_logged_exception_fills_the_ecs_error_fields_and_event_fields_never_clash():
    stream = io.StringIO()
    configure("INFO", stream=stream)
    child = Logger(service="ember", child=True)
    try:
        raise ValueError("round 7 is not due")
    except ValueError:
        child.exception("round_failed", extra={"error": "a field of the event", "round": 7})
    (line,) = logged(stream)
    assert line["log.level"] == "error" and line["message"] == "round_failed"
    assert line["error.type"] == "ValueError"
    assert line["error.message"] == "round 7 is not due"
    assert "Traceback" in line["error.stack_trace"]
    assert line["ember"] == {"error": "a field of the event", "round": 7}
    assert "labels.correlation_id" in line


def test_configure_again_keeps_one_ecs_handler_writing_to_the_new_stream():
    first, second = io.StringIO(), io.StringIO()
    configure("INFO", stream=first)
    logger = configure("WARNING", stream=second)
    Logger(service="ember", child=True).info("quiet")
    logger.warning("loud")
    assert first.getvalue() == ""
    assert [line["message"] for line in logged(second)] == ["loud"]
