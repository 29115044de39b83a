import io
import json
import uuid

from ember.adapters.postgres.ledger import Deposit
from ember.domain.clock import SystemClock
from ember.runtime.logging import configure, new_correlation
from ember.services.cashier import credit_deposit


class FakeLedger:
    def deposit(self, external_id, player_id, amount, now, allow=None):
        return Deposit(external_id, player_id, amount, amount, False)


def test_service_logs_are_json_events_with_the_correlation_id():
    stream = io.StringIO()
    logger = configure("INFO", stream=stream)
    cid = new_correlation(logger, str(uuid.uuid4()))
    credit_deposit("psp-1", "alice", 5, ledger=FakeLedger(), clock=SystemClock())
    credit_deposit("psp-2", "alice", 7, ledger=FakeLedger(), clock=SystemClock())
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["message"] for line in lines] == ["deposit_credited", "deposit_credited"]
    assert all(line["correlation_id"] == cid for line in lines)
    assert lines[1]["amount"] == 7 and lines[1]["external_id"] == "psp-2"
