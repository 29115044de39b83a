"""Provably fair draws: commit to a seed at open, reveal it after settlement.

outcome = HMAC-SHA256(key=seed, msg=f"{round_id}:{salt}") read as a big-endian integer,
mapped to an outcome index by rejection sampling so no index is favoured (no modulo bias).
The seed is 32 random bytes, published as 64 hex chars; its commitment is
sha256(seed bytes). A standalone verifier lives in `ember.verify` (standard library only).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SEED_BYTES = 32
_DIGEST_SPACE = 1 << 256


def new_seed() -> str:
    """A fresh server seed as hex; the caller stores it where it cannot leak."""
    return secrets.token_hex(SEED_BYTES)


def seed_hash(seed_hex: str) -> str:
    """The public commitment to a seed: sha256 of its bytes, hex."""
    return hashlib.sha256(bytes.fromhex(seed_hex)).hexdigest()


def draw_outcome(seed_hex: str, round_id: str, salt: str, outcome_count: int) -> int:
    """The outcome index the seed and salt determine for this round."""
    if outcome_count < 1:
        raise ValueError("outcome_count must be positive")
    key = bytes.fromhex(seed_hex)
    # Accept digests below the largest multiple of outcome_count; retry with a counter.
    limit = _DIGEST_SPACE - _DIGEST_SPACE % outcome_count
    attempt = 0
    while True:
        message = f"{round_id}:{salt}" if attempt == 0 else f"{round_id}:{salt}:{attempt}"
        value = int.from_bytes(hmac.new(key, message.encode(), hashlib.sha256).digest(), "big")
        if value < limit:
            return value % outcome_count
        attempt += 1
