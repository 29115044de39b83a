"""The production salt source: the hash of the first chain block after a round's lock.

Nobody knows that hash while bets are taken (the block does not exist yet), and nobody can
choose it afterwards, so neither players nor the operator can steer a draw. Once the block
has `confirmations` blocks on top it is recorded in `round_salts` with source
`block-hash:<number>` and read from there ever after, so the salt never changes, whatever
the node says later. Anyone can check it with `eth_getBlockByNumber(<number>)`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger
from web3 import Web3
from web3.exceptions import Web3Exception

from ember.adapters.postgres.database import Database

SOURCE_PREFIX = "block-hash:"
_RPC_TIMEOUT_S = 10

logger = Logger(service="ember", child=True)


class BlockHashSalts:
    """SaltSource: each round's salt is the hash of the first block stamped after lock_at."""

    def __init__(self, db: Database, w3: Web3, confirmations: int = 1) -> None:
        self.db = db
        self.w3 = w3
        self.confirmations = confirmations

    @classmethod
    def connect(cls, db: Database, rpc_url: str, confirmations: int = 1) -> BlockHashSalts:
        """Salts read from the JSON-RPC node at `rpc_url`."""
        provider = Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": _RPC_TIMEOUT_S})
        return cls(db, Web3(provider), confirmations)

    def salt_for(self, round_id: uuid.UUID, now: datetime) -> str | None:
        """The round's salt; None before lock_at, and while its block is missing or unconfirmed."""
        row = self.db.run(lambda conn: conn.execute(
            "SELECT r.lock_at, s.salt FROM rounds r LEFT JOIN round_salts s ON s.round_id = r.id"
            " WHERE r.id = %s", (round_id,)).fetchone())
        if row is None or now < row["lock_at"]:
            return None
        if row["salt"] is not None:
            return str(row["salt"])
        try:
            block = self.first_block_after(row["lock_at"].timestamp())
        except (OSError, Web3Exception) as error:  # the salt may still come: retried next pass
            logger.warning("salt_chain_unavailable", extra={"round_id": str(round_id),
                                                            "error": type(error).__name__})
            return None
        if block is None:
            return None
        return self._record(round_id, block, now)

    def first_block_after(self, moment: float) -> tuple[int, str] | None:
        """(number, hash) of the first block stamped strictly after `moment` (epoch seconds),
        or None while no such block has `confirmations` blocks on top of it."""
        latest = self.w3.eth.get_block("latest")
        if latest["timestamp"] <= moment:
            return None
        number = self._search(moment, int(latest["number"]))
        if int(latest["number"]) - number < self.confirmations:
            return None
        block = self.w3.eth.get_block(number)
        return number, "0x" + bytes(block["hash"]).hex()

    def _search(self, moment: float, latest: int) -> int:
        """The first block number stamped after `moment`, given that `latest` is.

        Gallops back from the head (a round's block is usually recent), then bisects;
        timestamps never decrease along the chain.
        """
        low, high, step = -1, latest, 1  # invariant: low is at or before `moment`, high after
        while high - step >= 0:
            probe = high - step
            if self._timestamp(probe) > moment:
                high, step = probe, step * 2
            else:
                low = probe
                break
        while high - low > 1:
            middle = (low + high) // 2
            if self._timestamp(middle) > moment:
                high = middle
            else:
                low = middle
        return high

    def _timestamp(self, number: int) -> int:
        return int(self.w3.eth.get_block(number)["timestamp"])

    def _record(self, round_id: uuid.UUID, block: tuple[int, str], now: datetime) -> str:
        """The salt on record for the round: this block's hash, unless one was recorded first."""
        number, block_hash = block

        def work(conn: Any) -> str:
            conn.execute(
                "INSERT INTO round_salts (round_id, salt, source, fixed_at) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (round_id) DO NOTHING",
                (round_id, block_hash, f"{SOURCE_PREFIX}{number}", now))
            row = conn.execute("SELECT salt FROM round_salts WHERE round_id = %s",
                               (round_id,)).fetchone()
            return str(row["salt"])
        salt = self.db.run(work)
        logger.info("salt_fixed", extra={"round_id": str(round_id), "block": number})
        return salt

