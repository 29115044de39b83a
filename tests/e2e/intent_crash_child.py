"""A wallet process for the crash-point test: submits purposes, and dies on request.

    python -m tests.e2e.intent_crash_child DATABASE_URL RPC_URL KEY CRASH_POINT PURPOSE...

CRASH_POINT is an intent crash point ("after_sign", "after_record", "after_send",
"before_receipt"): the process submits every purpose, then waits for the last one, and
exits at once (os._exit, no cleanup) the first time the last purpose reaches that point.
CRASH_POINT "recover" is the restarted process: recover, submit all purposes again, wait
for every receipt, and print {purpose: [nonce, tx hash]} as JSON.
"""

from __future__ import annotations

import json
import os
import sys

from web3 import Web3

from ember.adapters.chain.intents import TransactionIntents
from ember.adapters.chain.signer import LocalKeySigner
from ember.adapters.postgres.database import Database

CRASHED = 17
SINK = "0x000000000000000000000000000000000000dEaD"


def transaction(purpose: str) -> dict:
    """What `purpose` sends: its name as calldata, so the chain shows which purpose it was."""
    return {"to": SINK, "value": 1, "data": purpose.encode()}


def main(database_url: str, rpc_url: str, key: str, crash_point: str, *purposes: str) -> None:
    db = Database(database_url, max_size=2)
    current = {"purpose": ""}

    def crash_at(point: str) -> None:
        if point == crash_point and current["purpose"] == purposes[-1]:
            os._exit(CRASHED)

    intents = TransactionIntents(db, Web3(Web3.HTTPProvider(rpc_url)), LocalKeySigner(key),
                                 confirmations=1, poll_interval=0.1, crash_at=crash_at)
    if crash_point == "recover":
        intents.recover()
    for purpose in purposes:
        current["purpose"] = purpose
        intents.submit(purpose, transaction(purpose))
    done = {}
    for purpose in purposes:
        current["purpose"] = purpose
        receipt = intents.wait(purpose, timeout=30)
        done[purpose] = [intents.get(purpose).nonce, "0x" + receipt.tx_hash.hex()]
    print(json.dumps(done))
    db.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
