"""Every message the system produces today validates against its published schema."""

import json

from ember.adapters.kafka.events import message_for
from ember.adapters.postgres.outbox import event_from_row
from ember.adapters.schemas import validate
from ember.services.keeper import run_keeper
from tests.support import bet, fund, market, open_round


def test_every_event_settlement_writes_is_valid_on_the_wire(ember, sql, clock):
    settled = open_round(ember, market("flip", commission_bps=300))
    one_sided = open_round(ember, market("dice", outcomes=6))
    open_round(ember, market("empty"))  # no bets: refunded, drawn outcome still published
    for player in "abc":
        fund(ember, player, 10_000)
    bet(ember, "a", settled, 0, 1_001)
    bet(ember, "b", settled, 1, 2_503)
    bet(ember, "c", one_sided, 3, 700)
    clock.advance(60)
    run_keeper(markets=ember.markets, rounds=ember.rounds, salts=ember.salts, clock=clock)

    rows = sql.execute("SELECT * FROM outbox ORDER BY seq").fetchall()
    for row in rows:
        message = message_for(event_from_row(row))
        # As KafkaPublisher serializes it, then as a consumer reads it.
        validate(json.loads(json.dumps(message.value, separators=(",", ":"))))
        assert message.key == row["payload"]["round_id"]

    assert sorted(row["type"] for row in rows) == [
        "commission.accrued", "round.refunded", "round.refunded", "round.settled"]
