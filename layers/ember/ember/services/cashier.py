"""Use cases: money in (deposits) and out (withdrawal requests, payment, cancellation)."""

from __future__ import annotations

import uuid

from aws_lambda_powertools import Logger

from ember.adapters.postgres.ledger import Deposit, DepositContext, Withdrawal
from ember.domain import protection
from ember.domain.clock import Clock
from ember.domain.errors import InvalidRequest
from ember.domain.ledger import is_player_id
from ember.domain.money import require_amount

from .ports import Ledger

logger = Logger(service="ember", child=True)
MAX_EXTERNAL_ID = 200


def credit_deposit(external_id: str, player_id: str, amount: object, *, ledger: Ledger,
                   clock: Clock) -> Deposit:
    """The player's balance after crediting one external payment (once per payment id).

    Refused (SelfExcluded, LimitExceeded) while the player is self-excluded or when the
    payment would break a deposit limit; a repeat of an already credited payment is not.
    """
    if not external_id or len(external_id) > MAX_EXTERNAL_ID:
        raise InvalidRequest(f"external payment id must be 1-{MAX_EXTERNAL_ID} characters")
    value = require_amount(amount)
    now = clock.now()

    def allow(context: DepositContext) -> None:
        protection.check_deposit(value, context.limits, context.exposure, context.excluded_until,
                                 now)

    deposit = ledger.deposit(external_id, _player(player_id), value, now, allow)
    logger.info("deposit_credited", extra={"external_id": external_id, "player_id": player_id,
                                           "amount": deposit.amount, "replayed": deposit.replayed})
    return deposit


def request_withdrawal(withdrawal_id: uuid.UUID, player_id: str, amount: object, *,
                       ledger: Ledger, clock: Clock | None = None) -> Withdrawal:
    """The withdrawal, its funds held off the player's balance until paid or cancelled."""
    withdrawal = ledger.request_withdrawal(withdrawal_id, _player(player_id), require_amount(amount),
                                           clock.now() if clock else None)
    logger.info("withdrawal_requested", extra={"withdrawal_id": str(withdrawal_id),
                                               "player_id": player_id, "amount": withdrawal.amount})
    return withdrawal


def finish_withdrawal(withdrawal_id: uuid.UUID, *, paid: bool, ledger: Ledger,
                      clock: Clock | None = None) -> Withdrawal:
    """The withdrawal paid (funds leave) or cancelled (funds return); repeating is a no-op."""
    withdrawal = ledger.finish_withdrawal(withdrawal_id, paid=paid,
                                          now=clock.now() if clock else None)
    logger.info("withdrawal_finished", extra={"withdrawal_id": str(withdrawal_id),
                                              "status": withdrawal.status})
    return withdrawal


def _player(player_id: str) -> str:
    if not is_player_id(player_id):
        raise InvalidRequest("player id must be 1-128 characters without ':'")
    return player_id
