"""Set-based settlement: one INSERT … SELECT per kind of money movement, never a loop.

Payouts and refunds are aggregated per player (one transfer each) with per-bet flooring,
so the work is one scan of the round's bets plus one row per player.
"""

from __future__ import annotations

import uuid

import psycopg

from ember.domain import ledger as accounts
from ember.domain.ledger import Transfer
from ember.domain.money import CURRENCY
from ember.domain.settlement import Verdict

from .ledger import post

# Transfer ids are derived from (round, player, kind): a replayed settlement collides on
# the primary key instead of paying twice.
_PAY_WINNERS = """
WITH moved AS (
    INSERT INTO transfers (id, debit_account, credit_account, currency, amount, kind, reference)
    SELECT md5(%(round)s || ':payout:' || player_id)::uuid, %(pool)s, 'player:' || player_id,
           %(currency)s, payout, 'payout', %(round)s
      FROM (SELECT player_id,
                   sum(div(amount::numeric * %(distributable)s, %(winning_stake)s))::bigint AS payout
              FROM bets WHERE round_id = %(round_id)s AND outcome = %(winner)s
             GROUP BY player_id) per_player
     WHERE payout > 0
    RETURNING amount
)
SELECT coalesce(sum(amount), 0)::bigint AS paid FROM moved
"""

_REFUND_ALL = """
WITH moved AS (
    INSERT INTO transfers (id, debit_account, credit_account, currency, amount, kind, reference)
    SELECT md5(%(round)s || ':refund:' || player_id)::uuid, %(pool)s, 'player:' || player_id,
           %(currency)s, sum(amount), 'refund', %(round)s
      FROM bets WHERE round_id = %(round_id)s
     GROUP BY player_id
    RETURNING amount
)
SELECT coalesce(sum(amount), 0)::bigint AS refunded FROM moved
"""


def _params(round_id: uuid.UUID) -> dict[str, object]:
    return {"round": str(round_id), "round_id": round_id, "pool": accounts.round_pool(round_id),
            "currency": CURRENCY}


def write_settlement(conn: psycopg.Connection, round_id: uuid.UUID,
                     verdict: Verdict) -> tuple[int, int]:
    """(paid to winners, commission including dust); the pool ends at exactly zero."""
    paid = conn.execute(_PAY_WINNERS, {
        **_params(round_id), "distributable": verdict.distributable,
        "winning_stake": verdict.winning_stake, "winner": verdict.winner,
    }).fetchone()["paid"]
    commission = verdict.total - paid
    if commission > 0:
        post(conn, Transfer(uuid.uuid5(round_id, "commission"), accounts.round_pool(round_id),
                            accounts.COMMISSION, commission, "commission", str(round_id)))
    return paid, commission


def write_refunds(conn: psycopg.Connection, round_id: uuid.UUID) -> int:
    """The total refunded: every player gets back exactly what they staked."""
    return conn.execute(_REFUND_ALL, _params(round_id)).fetchone()["refunded"]
