"""ccxt's exceptions to ours, by Binance's own error code where the body carries one.

ccxt picks its exception class for some codes by the URL's host (only `api.binance.com`
and friends count as "spot"), so the same Binance answer raises different ccxt classes in
production and against a local stand-in; the code in the body is the same everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import ccxt

from .errors import CexError, ExchangeAuthRejected, ExchangeUnavailable

DUPLICATE_ORDER = "Duplicate order sent."
# Binance code -> our reason.
REASONS = {
    -1013: "filter_failure", -1121: "unknown_symbol", -2013: "order_not_found",
    -4018: "unknown_asset", -4019: "withdrawal_closed", -4021: "withdrawal_not_multiple",
    -4022: "withdrawal_below_minimum", -4026: "insufficient_balance",
    -4035: "not_whitelisted",
}
AUTH_CODES = {-1022, -2014, -2015}


def binance_answer(error: Exception) -> tuple[int | None, str]:
    """(Binance's code, its message) from a ccxt exception's text ("binance {json}")."""
    text = str(error)
    start = text.find("{")
    if start >= 0:
        try:
            body = json.loads(text[start:])
            return int(body["code"]), str(body.get("msg", ""))
        except (ValueError, KeyError, TypeError):
            pass
    return None, text.removeprefix("binance ").strip()



@contextmanager
def translated(rejected: type[CexError], action: str) -> Iterator[None]:
    """Run ccxt calls, raising our typed errors; `rejected` is the class for a refusal."""
    try:
        yield
    except ccxt.NetworkError as error:  # timeouts, disconnects, rate limits, clock skew
        raise ExchangeUnavailable(f"{action}: {type(error).__name__}", action=action) from error
    except ccxt.BaseError as error:
        raise _refusal(error, rejected, action) from error


def _refusal(error: ccxt.BaseError, rejected: type[CexError], action: str) -> CexError:
    code, message = binance_answer(error)
    context = {"action": action, "exchange_code": code, "exchange_message": message}
    if code in AUTH_CODES or (code is None and isinstance(error, ccxt.AuthenticationError)):
        return ExchangeAuthRejected(f"{action}: {message}", **context)
    if code in REASONS:
        return rejected(f"{action}: {message}", reason=REASONS[code], **context)
    if isinstance(error, ccxt.InsufficientFunds):
        return rejected(f"{action}: {message}", reason="insufficient_balance", **context)
    if code == -2010 and message == DUPLICATE_ORDER:
        return rejected(f"{action}: {message}", reason="duplicate", **context)
    return rejected(f"{action}: {message}", **context)

