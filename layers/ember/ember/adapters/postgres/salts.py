"""The local salt source: a random value drawn once, only after lock, then fixed.

Development stand-in for the production source (the hash of the first chain block after
`lock_at`). It is public after settlement like any salt, and fixed at the first draw after
lock, so nobody can know it while bets are taken; unlike a block hash the operator could
in principle re-draw it, which is why it is for local runs only.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from .database import Database

SOURCE = "local-beacon"


class LocalBeaconSalts:
    def __init__(self, db: Database) -> None:
        self.db = db

    def salt_for(self, round_id: uuid.UUID, now: datetime) -> str | None:
        """The round's salt, drawn now if lock has passed; None before lock."""
        def work(conn) -> str | None:
            conn.execute(
                "INSERT INTO round_salts (round_id, salt, source, fixed_at)"
                " SELECT id, %s, %s, %s FROM rounds WHERE id = %s AND lock_at <= %s"
                " ON CONFLICT (round_id) DO NOTHING",
                (secrets.token_hex(32), SOURCE, now, round_id, now),
            )
            row = conn.execute("SELECT salt FROM round_salts WHERE round_id = %s",
                               (round_id,)).fetchone()
            return row["salt"] if row else None
        return self.db.run(work)
