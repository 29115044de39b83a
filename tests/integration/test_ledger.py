"""The ledger in PostgreSQL: append-only, balanced, never negative, retries are no-ops."""

import uuid
from datetime import timedelta

import psycopg
import pytest

from ember.adapters.postgres.ledger import post
from ember.domain import errors
from ember.domain.ledger import EXTERNAL, Transfer, player_account
from ember.services.cashier import credit_deposit, finish_withdrawal, request_withdrawal
from tests.support import ledger_totals


def test_deposit_credits_once_per_payment_id(ember, sql):
    first = credit_deposit("psp-1", "alice", 500, ledger=ember.ledger, clock=ember.clock)
    again = credit_deposit("psp-1", "alice", 500, ledger=ember.ledger, clock=ember.clock)
    assert (first.balance, first.replayed) == (500, False)
    assert (again.balance, again.replayed) == (500, True)
    assert sql.execute("SELECT count(*) AS n FROM deposits").fetchone()["n"] == 1
    assert ledger_totals(sql) == {"total": 0, "negative": 0, "drift": 0}


def test_same_payment_id_with_other_details_is_a_conflict(ember):
    credit_deposit("psp-1", "alice", 500, ledger=ember.ledger, clock=ember.clock)
    with pytest.raises(errors.DuplicateConflict):
        credit_deposit("psp-1", "alice", 900, ledger=ember.ledger, clock=ember.clock)
    with pytest.raises(errors.DuplicateConflict):
        credit_deposit("psp-1", "bob", 500, ledger=ember.ledger, clock=ember.clock)
    assert ember.ledger.balance("alice") == 500 and ember.ledger.balance("bob") == 0


@pytest.mark.parametrize("amount", [0, -1, 1.5, "10", None, True])
def test_bad_deposit_amounts_are_refused_and_nothing_is_written(ember, sql, amount):
    with pytest.raises(errors.InvalidAmount):
        credit_deposit("psp-x", "alice", amount, ledger=ember.ledger, clock=ember.clock)
    assert sql.execute("SELECT count(*) AS n FROM transfers").fetchone()["n"] == 0


def test_transfers_are_append_only(ember, sql):
    credit_deposit("psp-1", "alice", 500, ledger=ember.ledger, clock=ember.clock)
    for statement in ("UPDATE transfers SET amount = 1", "DELETE FROM transfers",
                      "TRUNCATE transfers CASCADE"):
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="append-only"):
            sql.execute(statement)
    assert ember.ledger.balance("alice") == 500


def test_balances_cannot_be_written_directly(ember, sql):
    credit_deposit("psp-1", "alice", 500, ledger=ember.ledger, clock=ember.clock)
    with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="only through transfers"):
        sql.execute("UPDATE accounts SET balance = 1000000 WHERE id = 'player:alice'")


def test_the_database_refuses_to_overdraw_a_player_even_from_raw_sql(ember, sql):
    credit_deposit("psp-1", "alice", 500, ledger=ember.ledger, clock=ember.clock)
    with pytest.raises(psycopg.errors.CheckViolation):
        sql.execute("INSERT INTO transfers (id, debit_account, credit_account, currency, amount, kind)"
                    " VALUES (gen_random_uuid(), 'player:alice', 'external', 'USDT', 501, 'x')")
    assert ember.ledger.balance("alice") == 500


def test_a_retried_transfer_is_a_no_op_and_a_reused_id_a_conflict(ember):
    credit_deposit("psp-1", "alice", 500, ledger=ember.ledger, clock=ember.clock)
    transfer = Transfer(uuid.uuid4(), player_account("alice"), EXTERNAL, 100, "test")
    assert ember.db.run(lambda c: post(c, transfer)) is True
    assert ember.db.run(lambda c: post(c, transfer)) is False
    assert ember.ledger.balance("alice") == 400
    with pytest.raises(errors.DuplicateConflict):
        ember.db.run(lambda c: post(c, Transfer(transfer.id, transfer.debit, transfer.credit, 99,
                                                "test")))


def test_withdrawal_holds_funds_then_pays_out_once(ember, sql):
    credit_deposit("psp-1", "alice", 500, ledger=ember.ledger, clock=ember.clock)
    wid = uuid.uuid4()
    held = request_withdrawal(wid, "alice", 200, ledger=ember.ledger)
    assert held.status == "requested" and ember.ledger.balance("alice") == 300
    assert request_withdrawal(wid, "alice", 200, ledger=ember.ledger).status == "requested"
    assert ember.ledger.balance("alice") == 300
    assert finish_withdrawal(wid, paid=True, ledger=ember.ledger).status == "paid"
    assert finish_withdrawal(wid, paid=True, ledger=ember.ledger).status == "paid"
    with pytest.raises(errors.WithdrawalNotPending):
        finish_withdrawal(wid, paid=False, ledger=ember.ledger)
    assert ember.ledger.balance("alice") == 300
    external = sql.execute("SELECT balance FROM account_balances WHERE id = 'external'").fetchone()
    assert external["balance"] == -300  # 500 in, 200 out
    assert ledger_totals(sql) == {"total": 0, "negative": 0, "drift": 0}


def test_cancelled_withdrawal_returns_the_funds(ember):
    credit_deposit("psp-1", "alice", 500, ledger=ember.ledger, clock=ember.clock)
    wid = uuid.uuid4()
    request_withdrawal(wid, "alice", 500, ledger=ember.ledger)
    assert ember.ledger.balance("alice") == 0
    assert finish_withdrawal(wid, paid=False, ledger=ember.ledger).status == "cancelled"
    assert ember.ledger.balance("alice") == 500


def test_withdrawal_beyond_the_balance_is_refused_and_nothing_is_held(ember, sql):
    credit_deposit("psp-1", "alice", 500, ledger=ember.ledger, clock=ember.clock)
    with pytest.raises(errors.InsufficientFunds):
        request_withdrawal(uuid.uuid4(), "alice", 501, ledger=ember.ledger)
    assert sql.execute("SELECT count(*) AS n FROM withdrawals").fetchone()["n"] == 0
    assert ember.ledger.balance("alice") == 500


def test_unknown_withdrawal_is_not_found(ember):
    with pytest.raises(errors.WithdrawalNotFound):
        finish_withdrawal(uuid.uuid4(), paid=True, ledger=ember.ledger)


@pytest.mark.parametrize(("debit", "currency"), [("player:ghost", "USDT"), ("external", "EUR")])
def test_transfers_need_existing_accounts_in_their_currency(ember, sql, debit, currency):
    credit_deposit("psp-1", "alice", 500, ledger=ember.ledger, clock=ember.clock)
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        sql.execute("INSERT INTO transfers (id, debit_account, credit_account, currency, amount, kind)"
                    " VALUES (gen_random_uuid(), %s, 'player:alice', %s, 5, 'x')", (debit, currency))
    assert ember.ledger.balance("alice") == 500


def test_accounts_cannot_be_deleted(ember, sql):
    credit_deposit("psp-1", "alice", 500, ledger=ember.ledger, clock=ember.clock)
    with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="append-only"):
        sql.execute("DELETE FROM accounts WHERE id = 'player:alice'")


def test_withdrawal_times_follow_the_application_clock(ember, clock):
    credit_deposit("psp-1", "alice", 500, ledger=ember.ledger, clock=clock)
    wid = uuid.uuid4()
    held = request_withdrawal(wid, "alice", 100, ledger=ember.ledger, clock=clock)
    clock.advance(3600)
    paid = finish_withdrawal(wid, paid=True, ledger=ember.ledger, clock=clock)
    assert held.requested_at == paid.requested_at == clock.now() - timedelta(seconds=3600)
    assert paid.finished_at == clock.now()
