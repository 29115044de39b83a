"""Transaction intents: every transaction of the technical wallet, recorded before sent.

    intents = TransactionIntents(db, w3, signer, confirmations=2)
    intents.submit("buyback:7f…:swap", {"to": router, "data": calldata})
    receipt = intents.wait("buyback:7f…:swap", timeout=120)

`submit` allocates the nonce, signs and records the intent in one PostgreSQL transaction,
commits, and only then broadcasts. A purpose seen before is never signed again: its stored
bytes are re-broadcast, which the chain accepts at most once. `recover` re-broadcasts
what a crashed process recorded but may not have sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from aws_lambda_powertools import Logger
from eth_utils import to_checksum_address

from ember.adapters.postgres.database import Database, violated

from .errors import (
    ChainError,
    ChainUnavailable,
    InsufficientFunds,
    NonceConflict,
    ReceiptTimeout,
    TransactionReverted,
    UnknownIntent,
    node_error,
)
from .receipts import Receipt, final_receipt, is_known
from .reverts import RevertDecoder
from .signer import Signer

logger = Logger(service="ember", child=True)

CrashPoint = Callable[[str], None]
UNFINISHED = ("signed", "sent")
# Words nodes use when they already hold the very transaction we send again.
_ALREADY_SENT = ("already known", "known transaction", "nonce too low", "already imported",
                 "invalid transaction nonce", "transaction already")
_NONCE_AHEAD = ("nonce too high", "can't be queued", "cannot be queued")


@dataclass(frozen=True)
class Intent:
    purpose: str
    chain_id: int
    sender: str
    nonce: int
    to: str | None
    value: int
    data: bytes
    gas_limit: int
    max_fee_per_gas: int
    max_priority_fee_per_gas: int
    raw_tx: bytes
    tx_hash: bytes
    status: str
    block_number: int | None = None
    gas_used: int | None = None

    def transaction(self) -> dict[str, Any]:
        """The call this intent makes, as an eth_call / eth_estimateGas request."""
        call = {"from": to_checksum_address(self.sender), "value": self.value, "data": self.data}
        return call | ({"to": to_checksum_address(self.to)} if self.to else {})


def _intent(row: Mapping[str, Any]) -> Intent:
    return Intent(purpose=row["purpose"], chain_id=row["chain_id"], sender=row["sender"],
                  nonce=row["nonce"], to=row["to_address"], value=int(row["value"]),
                  data=bytes(row["data"]), gas_limit=row["gas_limit"],
                  max_fee_per_gas=int(row["max_fee_per_gas"]),
                  max_priority_fee_per_gas=int(row["max_priority_fee_per_gas"]),
                  raw_tx=bytes(row["raw_tx"]), tx_hash=bytes(row["tx_hash"]), status=row["status"],
                  block_number=row["block_number"], gas_used=row["gas_used"])


class TransactionIntents:
    def __init__(self, db: Database, w3: Any, signer: Signer, confirmations: int = 1, *,
                 decoder: RevertDecoder | None = None, gas_margin_pct: int = 20,
                 poll_interval: float = 0.2, crash_at: CrashPoint | None = None) -> None:
        self.db, self.w3, self.signer = db, w3, signer
        self.confirmations = confirmations
        self.decoder = decoder or RevertDecoder()
        self.gas_margin_pct = gas_margin_pct
        self.poll_interval = poll_interval
        # Tests kill the process at "after_sign", "after_record", "after_send", "before_receipt".
        self.crash_at = crash_at
        self._chain_id: int | None = None

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            with self._node():
                self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    @property
    def sender(self) -> str:
        return self.signer.address.lower()

    # -- submit ---------------------------------------------------------------------------
    def submit(self, purpose: str, tx_fields: Mapping[str, Any], *, extra_gas: int = 0) -> Intent:
        """The intent for `purpose`, broadcast; signed now only if the purpose is new.

        `extra_gas` is added to the estimate's margin for what the estimate cannot see: gas
        that depends on the block the transaction is mined in."""
        known = self.get(purpose)
        if known is not None:
            return self._broadcast(known)
        try:
            intent, fresh = self.db.run(
                lambda conn: self._sign_and_record(conn, purpose, tx_fields, extra_gas))
        except psycopg.errors.UniqueViolation as error:  # same purpose, other sender, same instant
            if violated(error) != "tx_intents_pkey":
                raise
            intent, fresh = self._get_or_fail(purpose), False
        if fresh:
            self._crash("after_record")
            logger.info("tx_intent_signed", extra={"purpose": purpose, "nonce": intent.nonce,
                                                   "tx_hash": "0x" + intent.tx_hash.hex()})
        return self._broadcast(intent)

    def _sign_and_record(self, conn: psycopg.Connection, purpose: str,
                         fields: Mapping[str, Any], extra_gas: int = 0) -> tuple[Intent, bool]:
        chain_id, sender = self.chain_id, self.sender
        conn.execute("INSERT INTO tx_nonces (chain_id, sender, next_nonce) VALUES (%s, %s, 0)"
                     " ON CONFLICT DO NOTHING", (chain_id, sender))
        stored = conn.execute("SELECT next_nonce FROM tx_nonces WHERE chain_id = %s AND sender = %s"
                              " FOR UPDATE", (chain_id, sender)).fetchone()["next_nonce"]
        # Under the lock: a concurrent submit of this purpose has committed by now.
        row = conn.execute("SELECT * FROM tx_intents WHERE purpose = %s", (purpose,)).fetchone()
        if row is not None:
            return _intent(row), False
        with self._node():
            pending = self.w3.eth.get_transaction_count(self.signer.address, "pending")
        tx = self._complete(purpose, fields, nonce=max(stored, pending), extra_gas=extra_gas)
        signed = self.signer.sign_transaction(tx)
        self._crash("after_sign")
        row = conn.execute(
            "INSERT INTO tx_intents (purpose, chain_id, sender, nonce, to_address, value, data,"
            " gas_limit, max_fee_per_gas, max_priority_fee_per_gas, raw_tx, tx_hash)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *",
            (purpose, chain_id, sender, tx["nonce"], tx["to"].lower() if tx.get("to") else None,
             tx["value"], tx["data"], tx["gas"], tx["maxFeePerGas"], tx["maxPriorityFeePerGas"],
             signed.raw, signed.hash)).fetchone()
        conn.execute("UPDATE tx_nonces SET next_nonce = %s WHERE chain_id = %s AND sender = %s",
                     (tx["nonce"] + 1, chain_id, sender))
        return _intent(row), True

    def _complete(self, purpose: str, fields: Mapping[str, Any], nonce: int,
                  extra_gas: int = 0) -> dict[str, Any]:
        """`fields` as a full EIP-1559 transaction: chain id, nonce, gas with margin (plus
        `extra_gas`), fees."""
        tx: dict[str, Any] = {k: v for k, v in fields.items()
                              if k not in ("from", "type", "chainId", "nonce")}
        tx.update(type=2, chainId=self.chain_id, nonce=nonce)
        tx["value"] = int(tx.get("value", 0))
        data = tx.get("data", b"")
        tx["data"] = bytes.fromhex(data.removeprefix("0x")) if isinstance(data, str) else bytes(data)
        if tx.get("to"):
            tx["to"] = to_checksum_address(tx["to"])
        with self._node(purpose=purpose):
            if "gas" not in tx:
                call: dict[str, Any] = {k: tx[k] for k in ("to", "value", "data") if k in tx}
                estimate = self.w3.eth.estimate_gas(call | {"from": self.signer.address})
                tx["gas"] = estimate * (100 + self.gas_margin_pct) // 100 + extra_gas
            if "maxFeePerGas" not in tx:
                base_fee = self.w3.eth.get_block("latest")["baseFeePerGas"]
                tx.setdefault("maxPriorityFeePerGas", self.w3.eth.max_priority_fee)
                # Room for the base fee to double before the transaction stops being valid.
                tx["maxFeePerGas"] = 2 * base_fee + tx["maxPriorityFeePerGas"]
            tx.setdefault("maxPriorityFeePerGas", min(tx["maxFeePerGas"], self.w3.eth.max_priority_fee))
        return tx

    # -- broadcast ------------------------------------------------------------------------
    def _broadcast(self, intent: Intent) -> Intent:
        """`intent` after sending its stored bytes (again) when not yet final."""
        if intent.status not in UNFINISHED:
            return intent
        try:
            self._send(intent)
        except ChainError as error:
            # Sent before (by us or a crashed process) and known to the node: success.
            if not self._node_has(intent):
                if isinstance(error, ChainUnavailable | InsufficientFunds):
                    raise
                if any(word in str(error).lower() for word in _ALREADY_SENT):
                    return self._check_replaced(intent)
                raise
        self._crash("after_send")
        if intent.status == "signed":
            self._set_sent(intent.purpose)
        return self._get_or_fail(intent.purpose)

    def _send(self, intent: Intent) -> None:
        try:
            with self._node(purpose=intent.purpose):
                self.w3.eth.send_raw_transaction(intent.raw_tx)
        except ChainError as error:
            # A node that does not queue future nonces (Hardhat automine) refuses ours while an
            # earlier intent is recorded but not yet sent by its (slower or crashed) submitter.
            if not any(word in str(error).lower() for word in _NONCE_AHEAD):
                raise
            for earlier in self._unfinished(before=intent.nonce):
                self._broadcast(earlier)
            with self._node(purpose=intent.purpose):
                self.w3.eth.send_raw_transaction(intent.raw_tx)

    def _unfinished(self, before: int | None = None) -> list[Intent]:
        """This sender's signed-but-unmined intents in nonce order (below `before` if given)."""
        rows = self.db.run(lambda conn: conn.execute(
            "SELECT * FROM tx_intents WHERE chain_id = %s AND sender = %s AND nonce < %s"
            " AND status IN ('signed', 'sent') ORDER BY nonce",
            (self.chain_id, self.sender, 2**63 - 1 if before is None else before)).fetchall())
        return [_intent(row) for row in rows]

    def _node_has(self, intent: Intent) -> bool:
        try:
            with self._node():
                return is_known(self.w3, intent.tx_hash)
        except ChainUnavailable:
            return False

    def _check_replaced(self, intent: Intent) -> Intent:
        """Raises NonceConflict once another transaction has taken the intent's nonce."""
        with self._node():
            mined_nonce = self.w3.eth.get_transaction_count(self.signer.address, "latest")
        if mined_nonce > intent.nonce and not is_known(self.w3, intent.tx_hash):
            self.db.run(lambda conn: conn.execute(
                "UPDATE tx_intents SET status = 'replaced', finished_at = now()"
                " WHERE purpose = %s AND status IN ('signed', 'sent')", (intent.purpose,)))
            raise NonceConflict(f"nonce {intent.nonce} was used by another transaction",
                                purpose=intent.purpose, nonce=intent.nonce)
        return intent

    def _set_sent(self, purpose: str) -> None:
        self.db.run(lambda conn: conn.execute(
            "UPDATE tx_intents SET status = 'sent', sent_at = now()"
            " WHERE purpose = %s AND status = 'signed'", (purpose,)))

    def recover(self) -> list[Intent]:
        """Every unfinished intent of this sender, re-broadcast in nonce order (at start)."""
        recovered = [self._broadcast(intent) for intent in self._unfinished()]
        logger.info("tx_intents_recovered", extra={"count": len(recovered)})
        return recovered

    # -- receipts -------------------------------------------------------------------------
    def wait(self, purpose: str, timeout: float = 120.0) -> Receipt:
        """The receipt of `purpose`'s transaction with the configured confirmations.
        Raises TransactionReverted (decoded) when it reverted, NonceConflict when another
        transaction took its nonce, ReceiptTimeout when it is not final in time."""
        intent = self._get_or_fail(purpose)
        self._crash("before_receipt")
        deadline = time.monotonic() + timeout
        polls = 0
        while True:
            with self._node(purpose=purpose):
                receipt = final_receipt(self.w3, intent.tx_hash, self.confirmations)
            if receipt is not None:
                return self._finish(intent, receipt)
            if time.monotonic() >= deadline:
                raise ReceiptTimeout(f"no final receipt for {purpose} within {timeout}s",
                                     purpose=purpose, tx_hash="0x" + intent.tx_hash.hex())
            polls += 1
            if polls % 25 == 0:  # a node may drop a pending transaction: offer it again
                intent = self._broadcast(self._get_or_fail(purpose))
            time.sleep(self.poll_interval)

    def _finish(self, intent: Intent, receipt: Any) -> Receipt:
        succeeded = receipt["status"] == 1
        self.db.run(lambda conn: conn.execute(
            "UPDATE tx_intents SET status = %s, block_number = %s, gas_used = %s,"
            " sent_at = coalesce(sent_at, now()), finished_at = now()"
            " WHERE purpose = %s AND status IN ('signed', 'sent')",
            ("mined" if succeeded else "reverted", receipt["blockNumber"], receipt["gasUsed"],
             intent.purpose)))
        result = Receipt(purpose=intent.purpose, tx_hash=intent.tx_hash,
                         block_number=receipt["blockNumber"], gas_used=receipt["gasUsed"],
                         succeeded=succeeded, logs=tuple(receipt.get("logs", ())))
        if not succeeded:
            raise self._why_reverted(intent, receipt["blockNumber"])
        return result

    def _why_reverted(self, intent: Intent, block_number: int) -> TransactionReverted:
        """The decoded reason, by replaying the call on the state its block started from."""
        context = {"purpose": intent.purpose, "tx_hash": "0x" + intent.tx_hash.hex()}
        try:
            self.w3.eth.call({**intent.transaction(), "gas": intent.gas_limit}, max(block_number - 1, 0))
        except Exception as error:
            found = self.decoder.from_exception(error, **context)
            if found is not None:
                return found
        return TransactionReverted("", (), None, **context)

    # -- reads ----------------------------------------------------------------------------
    def get(self, purpose: str) -> Intent | None:
        row = self.db.run(lambda conn: conn.execute(
            "SELECT * FROM tx_intents WHERE purpose = %s", (purpose,)).fetchone())
        return _intent(row) if row else None

    def _get_or_fail(self, purpose: str) -> Intent:
        intent = self.get(purpose)
        if intent is None:
            raise UnknownIntent(f"no transaction intent {purpose!r}", purpose=purpose)
        return intent

    def _crash(self, point: str) -> None:
        if self.crash_at is not None:
            self.crash_at(point)

    @contextmanager
    def _node(self, purpose: str | None = None) -> Iterator[None]:
        """Node errors as typed chain errors: unreachable, reverted, out of funds."""
        try:
            yield
        except ChainError:
            raise
        except Exception as error:
            raise node_error(error, self.decoder, purpose) from error
