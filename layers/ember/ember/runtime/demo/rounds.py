"""Which rounds the demo plays: the first N of its market opening after the players are ready,
as the public API lists them. The keeper creates rounds ahead, so they are known before they
open; bets are taken by time (open_at <= now < lock_at), whenever the keeper flips the status."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from .client import Api


@dataclass(frozen=True)
class PlayedRound:
    number: int  # 1..N within this run
    id: str
    open_at: float  # epoch seconds
    lock_at: float


class RoundSchedule:
    """Polls GET /v1/rounds for the market's open rounds; players wait on it for the next one."""

    def __init__(self, api: Api, market_id: str, rounds: int, stop: threading.Event) -> None:
        self.api, self.market_id, self.wanted, self._stop = api, market_id, rounds, stop
        self.not_before = time.time()
        self.played: list[PlayedRound] = []
        self._changed = threading.Condition()

    def run(self) -> None:
        """Polls until N rounds opened or the demo stops (a thread's target)."""
        while len(self.played) < self.wanted and not self._stop.wait(0.25):
            reply = self.api.call("GET", f"/v1/rounds?market={self.market_id}&limit=10")
            if reply.ok:
                self._note(reply.body["items"])
        with self._changed:
            self._changed.notify_all()

    def _note(self, items: list[dict]) -> None:
        seen = {r.id for r in self.played}
        for item in sorted(items, key=lambda i: i["open_at"]):
            open_at = _epoch(item["open_at"])
            taking_bets = item["status"] in ("scheduled", "open")
            if (item["id"] in seen or not taking_bets or open_at < self.not_before
                    or len(self.played) >= self.wanted):
                continue
            with self._changed:
                self.played.append(PlayedRound(len(self.played) + 1, item["id"], open_at,
                                             _epoch(item["lock_at"])))
                self._changed.notify_all()

    def opened(self) -> int:
        """How many of the demo's rounds have opened by now."""
        now = time.time()
        return sum(1 for r in list(self.played) if r.open_at <= now)

    def next_round(self, number: int) -> PlayedRound | None:
        """Round `number` once it is known (it may open later); None when the demo stops first."""
        with self._changed:
            while len(self.played) < number:
                if self._stop.is_set() or (len(self.played) >= self.wanted):
                    return None
                self._changed.wait(0.5)
            return self.played[number - 1]


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
