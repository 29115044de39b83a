"""Simulated players: each funds itself through the signed deposit webhook, then bets on every
demo round over HTTP with its strategy (flat, proportional, martingale), a real JWT and an
Idempotency-Key per bet. The first player resends one bet per round: a deliberate replay.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from ember.domain.markets import Market

from .client import Api, Reply
from .market import DEPOSIT, USDT
from .rounds import PlayedRound, RoundSchedule

NAMES = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy")
STRATEGIES = ("flat", "proportional", "martingale")
_LOCK_MARGIN_S = 0.25  # no bet is sent closer than this to lock_at
# Refusals a player can meet in a fair game; anything else counts as an error.
EXPECTED_REFUSALS = frozenset({"round_closed", "round_not_open", "rate_limited",
                               "insufficient_funds"})


@dataclass
class Tally:
    """What the players did and met, shared by their threads."""

    bets: int = 0
    replays: int = 0
    replays_ok: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    deposits: int = 0
    expected: dict[str, int] = field(default_factory=dict)  # player -> sum of quoted EVs
    last_error: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def failed(self, what: str, reply: Reply) -> None:
        with self.lock:
            if reply.code in EXPECTED_REFUSALS:
                self.refused[reply.code] += 1
            else:
                self.errors[reply.code] += 1
                self.last_error = f"{what}: {reply.status} {reply.code}"


@dataclass
class Player:
    id: str
    strategy: str
    token: str
    losing_streak: int = 0  # rounds lost in a row: the martingale doubles on each

    def stake(self, balance: int, market: Market) -> int:
        """The next bet's amount under this player's strategy; 0 when it cannot be covered."""
        if self.strategy == "flat":
            wanted = 2 * USDT
        elif self.strategy == "proportional":
            wanted = balance * 5 // 100 // 10_000 * 10_000  # 5%, whole cents
        else:
            wanted = USDT << min(self.losing_streak, 10)
        amount = min(max(wanted, market.min_bet), market.max_bet, balance)
        return amount if amount >= market.min_bet else 0


def player_name(index: int) -> str:
    return NAMES[index] if index < len(NAMES) else f"player-{index + 1}"


def fund(api: Api, secret: str, player: Player, run: str, tally: Tally) -> None:
    """Tops the player up to the demo's deposit through the webhook when below half of it."""
    me = api.call("GET", "/v1/me", token=player.token)
    if not me.ok:
        tally.failed("GET /v1/me", me)
        return
    if me.body["balance"] >= DEPOSIT // 2:
        return
    reply = api.deposit(secret, f"demo-{run}-{player.id}", player.id, DEPOSIT)
    if reply.ok:
        with tally.lock:
            tally.deposits += 1
    else:
        tally.failed("POST /v1/deposits", reply)


class PlayerLoop:
    """One player's thread: every demo round, 1-3 bets spread over the bet window."""

    def __init__(self, api: Api, player: Player, market: Market, schedule: RoundSchedule,
                 tally: Tally, stop: threading.Event, *, replays: bool) -> None:
        self.api, self.player, self.market, self.schedule = api, player, market, schedule
        self.tally, self.stop, self.replays = tally, stop, replays
        self.rng = random.Random()

    def run(self) -> None:
        previous: PlayedRound | None = None
        for number in range(1, self.schedule.wanted + 1):
            round_ = self.schedule.next_round(number)
            if round_ is None or self.stop.wait(max(0.0, round_.open_at - time.time())):
                return
            self._update_streak(previous)
            self._play(round_)
            previous = round_

    def _play(self, round_: PlayedRound) -> None:
        count = self.rng.randint(1, 3)
        start = max(time.time(), round_.open_at)
        window = max(0.0, round_.lock_at - _LOCK_MARGIN_S - start)
        moments = sorted(start + self.rng.uniform(0, window) for _ in range(count))
        for index, moment in enumerate(moments):
            if self.stop.wait(max(0.0, moment - time.time())):
                return
            self._bet(round_, replay=self.replays and index == 0)

    def _bet(self, round_: PlayedRound, *, replay: bool) -> None:
        me = self.api.call("GET", "/v1/me", token=self.player.token)
        if not me.ok:
            self.tally.failed("GET /v1/me", me)
            return
        amount = self.player.stake(me.body["balance"], self.market)
        if not amount:
            return
        body = {"outcome": self.rng.randrange(len(self.market.outcomes)), "amount": amount}
        key = f"demo-{uuid.uuid4()}"
        headers = {"Idempotency-Key": key}
        path = f"/v1/rounds/{round_.id}/bets"
        first = self.api.call("POST", path, token=self.player.token, body=body, headers=headers)
        if not first.ok:
            self.tally.failed(f"POST {path}", first)
            return
        with self.tally.lock:
            self.tally.bets += 1
            quoted = int(first.body["education"].get("expected_value", 0))
            self.tally.expected[self.player.id] = self.tally.expected.get(self.player.id, 0) + quoted
        if replay:
            again = self.api.call("POST", path, token=self.player.token, body=body, headers=headers)
            same = (again.ok and again.headers.get("Idempotent-Replayed") == "true"
                    and again.body["bet"]["id"] == first.body["bet"]["id"])
            with self.tally.lock:
                self.tally.replays += 1
                self.tally.replays_ok += int(same)

    def _update_streak(self, previous: PlayedRound | None) -> None:
        """Lost the previous round (returned less than staked): one more in the losing streak."""
        if previous is None or self.player.strategy != "martingale":
            return
        reply = self.api.call("GET", "/v1/me/bets?limit=20", token=self.player.token)
        if not reply.ok:
            self.tally.failed("GET /v1/me/bets", reply)
            return
        bets = [b for b in reply.body["items"] if b["round_id"] == previous.id
                and b["round_status"] in ("settled", "refunded")]
        if bets:
            lost = sum(b["returned"] or 0 for b in bets) < sum(b["amount"] for b in bets)
            self.player.losing_streak = self.player.losing_streak + 1 if lost else 0
