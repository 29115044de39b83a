"""What can go wrong on chain, as typed errors with a stable code."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ember.domain.errors import EmberError

if TYPE_CHECKING:
    from .reverts import RevertDecoder


class ChainError(EmberError):
    code = "chain_error"
    status = 502


class ChainUnavailable(ChainError):
    """The node did not answer (connection refused, timeout, 5xx); safe to retry later."""

    code = "chain_unavailable"
    status = 503


class TransactionReverted(ChainError):
    """The EVM reverted: `error` is the decoded error's name ("Error", "Panic", a custom
    error of a known ABI, or "" when the data matches none), `error_args` its decoded arguments."""

    code = "transaction_reverted"
    status = 409

    def __init__(self, error: str, args: tuple = (), data: bytes | None = None, *,
                 tx_hash: str | None = None, purpose: str | None = None) -> None:
        shown = f"{error}{args!r}" if error else (data.hex() if data else "no revert data")
        super().__init__(f"transaction reverted: {shown}", purpose=purpose, tx_hash=tx_hash)
        self.error = error
        self.error_args = args
        self.data = data
        self.tx_hash = tx_hash
        self.purpose = purpose

    @property
    def signature(self) -> tuple[str, tuple]:
        """(error name, decoded args): what two backends must agree on."""
        return self.error, self.error_args


class InsufficientFunds(ChainError):
    """The technical wallet cannot pay the transaction's value plus gas."""

    code = "chain_insufficient_funds"
    status = 409


class NonceConflict(ChainError):
    """An intent's nonce was used by another transaction of the same sender."""

    code = "chain_nonce_conflict"
    status = 409


class ReceiptTimeout(ChainError):
    """No receipt with the required confirmations within the wait."""

    code = "chain_receipt_timeout"
    status = 504


class UnknownIntent(ChainError):
    code = "chain_unknown_intent"
    status = 404


def node_error(error: Exception, decoder: RevertDecoder, purpose: str | None = None) -> ChainError:
    """What a node's (or web3's) exception means for us, as a typed chain error."""
    import requests
    from web3.exceptions import ProviderConnectionError, TimeExhausted

    if isinstance(error, ConnectionError | TimeoutError | requests.ConnectionError
                  | requests.Timeout | ProviderConnectionError | TimeExhausted):
        return ChainUnavailable(f"chain node unreachable: {type(error).__name__}")
    reverted = decoder.from_exception(error, purpose=purpose)
    if reverted is not None:
        return reverted
    message = str(error)
    if any(words in message.lower() for words in ("insufficient funds", "enough balance")):
        return InsufficientFunds(message, purpose=purpose)
    return ChainError(message, purpose=purpose)
