"""Errors of the CEX route, whatever the exchange or its client library says."""

from __future__ import annotations

from ember.domain.errors import EmberError


class CexError(EmberError):
    """The exchange refused or failed; `context` carries its own code and message."""

    code = "cex_error"
    status = 502

    @property
    def reason(self) -> str:
        """Why, in our words (`insufficient_balance`, `not_whitelisted`, …), else `rejected`."""
        return str(self.context.get("reason", "rejected"))


class ExchangeUnavailable(CexError):
    """The exchange did not answer, or not in time: the outcome is unknown, retry with the
    same client id (the retry looks the order or withdrawal up before placing it)."""

    code = "exchange_unavailable"
    status = 503


class ExchangeAuthRejected(CexError):
    """The exchange refused our credentials or signature: a configuration fault, not retryable."""

    code = "exchange_auth_rejected"


class OrderRejected(CexError):
    """The exchange refused the order (balance, filters, symbol); nothing was bought."""

    code = "order_rejected"
    status = 422


class WithdrawalRejected(CexError):
    """The exchange refused or failed the withdrawal; the tokens stay (or return) on the exchange."""

    code = "withdrawal_rejected"
    status = 422


CEX_ERRORS: tuple[type[CexError], ...] = (
    ExchangeUnavailable, ExchangeAuthRejected, OrderRejected, WithdrawalRejected)
