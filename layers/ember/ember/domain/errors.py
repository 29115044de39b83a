"""Errors with a stable code: the code is part of the public contract (API, CLI, events)."""

from __future__ import annotations


class EmberError(Exception):
    """Base of every error a caller may be shown; `code` never changes once published."""

    code = "ember_error"
    status = 400

    def __init__(self, detail: str = "", **context: object) -> None:
        super().__init__(detail or self.code)
        self.detail = detail or self.code
        self.context = context


class InvalidRequest(EmberError):
    code = "invalid_request"
    status = 422


class InvalidAmount(EmberError):
    code = "invalid_amount"
    status = 422


class AmountOutOfRange(EmberError):
    code = "amount_out_of_range"
    status = 422


class UnknownOutcome(EmberError):
    code = "unknown_outcome"
    status = 422


class RoundNotFound(EmberError):
    code = "round_not_found"
    status = 404


class RoundNotOpen(EmberError):
    """The round exists but does not accept bets yet."""

    code = "round_not_open"
    status = 409


class RoundClosed(EmberError):
    """Betting closed at `lock_at`; the bet was not taken."""

    code = "round_closed"
    status = 409


class InsufficientFunds(EmberError):
    code = "insufficient_funds"
    status = 409


class IdempotencyConflict(EmberError):
    """The idempotency key was already used with other parameters."""

    code = "idempotency_conflict"
    status = 409


class DuplicateConflict(EmberError):
    """A caller-generated id was reused for a different operation (deposit, transfer)."""

    code = "duplicate_conflict"
    status = 409


class BetNotFound(EmberError):
    code = "bet_not_found"
    status = 404


class WithdrawalNotFound(EmberError):
    code = "withdrawal_not_found"
    status = 404


class WithdrawalNotPending(EmberError):
    code = "withdrawal_not_pending"
    status = 409


class MarketNotFound(EmberError):
    code = "market_not_found"
    status = 404


class InvalidMarket(EmberError):
    code = "invalid_market"
    status = 422


class BuybacksHalted(EmberError):
    """The kill switch is on: no buy-back is sent until an operator turns it off."""

    code = "buybacks_halted"
    status = 503


class PoolPriceDeviates(EmberError):
    """The pool's spot price is too far from the reference price to swap against it."""

    code = "pool_price_deviates"
    status = 409


class BuybackTooSmall(EmberError):
    """The spend would buy no token at the reference price: the guard cannot protect it."""

    code = "buyback_too_small"
    status = 422


class NoVenueQuote(EmberError):
    """No venue (DEX or CEX) quoted any token for the spend."""

    code = "no_venue_quote"
    status = 503


ALL_ERRORS: tuple[type[EmberError], ...] = (
    EmberError,
    InvalidRequest,
    InvalidAmount,
    AmountOutOfRange,
    UnknownOutcome,
    RoundNotFound,
    RoundNotOpen,
    RoundClosed,
    InsufficientFunds,
    IdempotencyConflict,
    DuplicateConflict,
    BetNotFound,
    WithdrawalNotFound,
    WithdrawalNotPending,
    MarketNotFound,
    InvalidMarket,
    BuybacksHalted,
    PoolPriceDeviates,
    BuybackTooSmall,
    NoVenueQuote,
)
