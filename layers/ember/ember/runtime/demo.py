"""`ember demo`: a scripted game on a hand-moved clock, then an audit of the books.

Players deposit, then each round the keeper opens it, every player bets 1-3 times through
`place_bet` (flat, proportional to balance, or martingale), one request is sent twice to
show the idempotent replay, the clock jumps to close and the keeper settles. The audit then
re-checks the ledger and recomputes every published draw from its seed and salt.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from rich.console import Console
from rich.table import Table

from ember.domain.clock import ManualClock, SystemClock
from ember.domain.markets import Market
from ember.domain.money import MINOR_UNITS_PER_MAJOR, format_major
from ember.domain.rounds import round_id
from ember.services.cashier import credit_deposit
from ember.services.keeper import run_keeper
from ember.services.place_bet import BetPlaced, PlaceBet, place_bet

from .bootstrap import Ember, build
from .demo_audit import audit, render_audit
from .settings import Settings, SettingsError

USDT = MINOR_UNITS_PER_MAJOR
# Short rounds and three outcomes: some rounds settle, some show a refund rule.
DEMO_MARKET = Market(
    id="demo-rgb-30s", title="Red, green or blue, every 30 seconds (demo)",
    outcomes=("red", "green", "blue"), interval_s=30, bet_window_s=20, commission_bps=500,
    min_bet=1 * USDT, max_bet=50 * USDT, resolve_grace_s=60,
)
DEPOSIT = 100 * USDT
NAMES = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy")
STRATEGIES = ("flat", "proportional", "martingale")
_SERVER_DATABASES = {"", "postgres", "template0", "template1"}


@dataclass
class Player:
    id: str
    strategy: str
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


@dataclass
class RoundPlay:
    """One round as the demo played it, for the tables."""

    number: int
    round_id: uuid.UUID
    pools: dict[int, int]
    expected: dict[str, int] = field(default_factory=dict)  # sum of quoted expected values
    replay: str = ""
    replay_ok: bool = True


def run_demo(settings: Settings, *, config_markets: list[Market], players: int, rounds: int,
             console: Console) -> bool:
    """True when the game ran and the audit passed; prints each round and the audit."""
    clock = ManualClock(SystemClock().now())
    # The demo moves its own clock ahead of the chain's, so no block would follow a lock in
    # time: its rounds take the local beacon's salts whatever CHAIN_RPC_URL says.
    app = build(settings.model_copy(update={"salt_source": "local-beacon"}), clock=clock)
    try:
        app.markets.sync([*config_markets, DEMO_MARKET])  # the file's markets stay active
        clock.set(_start(app))
        cast = [Player(_name(i), STRATEGIES[i % len(STRATEGIES)]) for i in range(players)]
        run = uuid.uuid4().hex[:8]  # new requests each run; replays only within one
        for player in cast:
            credit_deposit(f"demo-{run}-{player.id}", player.id, DEPOSIT, ledger=app.ledger,
                           clock=clock)
        console.print(f"demo run={run} market={DEMO_MARKET.id} players={players} rounds={rounds}"
                      f" start={clock.now():%Y-%m-%d %H:%M:%S} UTC deposit={_usdt(DEPOSIT)}")
        replays_ok = True
        rng = random.Random()
        for number in range(1, rounds + 1):
            play = _play_round(app, clock, cast, rng, number, run)
            _render_round(console, app, play, cast)
            replays_ok = replays_ok and play.replay_ok
        checks = audit(app.db, replays_ok=replays_ok)
        render_audit(console, checks)
        return all(check.ok for check in checks)
    finally:
        app.close()


def _usdt(amount: int) -> str:
    """The amount in USDT for the tables: exact, without trailing zeros past the cents."""
    whole, _, fraction = format_major(amount).partition(".")
    return f"{whole}.{fraction.rstrip('0').ljust(2, '0')}"


def _name(index: int) -> str:
    return NAMES[index] if index < len(NAMES) else f"player-{index + 1}"


def _start(app: Ember) -> datetime:
    """Now aligned to the demo market, or the close of its last resolved round if later.

    A previous run's clock ran ahead of real time; starting before its last round would
    replay rounds that are already final.
    """
    epoch = int(SystemClock().now().timestamp())
    aligned = datetime.fromtimestamp(epoch - epoch % DEMO_MARKET.interval_s, tz=UTC)
    latest = app.db.run(lambda conn: conn.execute(
        "SELECT max(close_at) AS close_at FROM rounds WHERE market_id = %s"
        " AND status IN ('settled', 'refunded')", (DEMO_MARKET.id,)).fetchone()["close_at"])
    return max(aligned, latest) if latest else aligned


def _play_round(app: Ember, clock: ManualClock, cast: list[Player], rng: random.Random,
                number: int, run: str) -> RoundPlay:
    """The round opening now, after bets, a replayed request and settlement at close."""
    open_at = clock.now()
    _keeper(app)  # creates and opens the round running at open_at
    play = RoundPlay(number, round_id(DEMO_MARKET.id, open_at), {})
    first: tuple[PlaceBet, BetPlaced] | None = None
    for player in cast:
        for n in range(rng.randint(1, 3)):
            amount = player.stake(app.ledger.balance(player.id), DEMO_MARKET)
            if not amount:
                break
            outcome = rng.randrange(len(DEMO_MARKET.outcomes))
            cmd = PlaceBet(player.id, play.round_id, outcome, amount, f"demo-{run}-r{number}-b{n}")
            placed = place_bet(cmd, bets=app.bets, clock=app.clock)
            first = first or (cmd, placed)
            quoted = placed.education.get("expected_value", 0)
            play.expected[player.id] = play.expected.get(player.id, 0) + quoted
    if first is not None:
        _replay(app, play, *first)
    play.pools = app.rounds.pools(play.round_id)
    clock.set(open_at + timedelta(seconds=DEMO_MARKET.interval_s))  # due at close_at
    _keeper(app)
    _update_streaks(app, play.round_id, cast)
    return play


def _replay(app: Ember, play: RoundPlay, cmd: PlaceBet, first: BetPlaced) -> None:
    """Sends `cmd` again, as a client retrying after a timeout would: same bet, no new debit."""
    before = app.ledger.balance(cmd.player_id)
    again = place_bet(cmd, bets=app.bets, clock=app.clock)
    after = app.ledger.balance(cmd.player_id)
    play.replay_ok = again.replayed and again.bet.id == first.bet.id and after == before
    play.replay = (f"replay: {cmd.player_id} resent key {cmd.idempotency_key} -> bet"
                   f" {str(again.bet.id)[:8]} (first {str(first.bet.id)[:8]}),"
                   f" replayed={again.replayed}, balance {_usdt(before)} -> {_usdt(after)}")


def _keeper(app: Ember) -> None:
    run_keeper(markets=app.markets, rounds=app.rounds, salts=app.salts, clock=app.clock,
               ahead=app.settings.rounds_ahead)


def _results(app: Ember, rid: uuid.UUID) -> dict[str, dict]:
    """Per player: bets, staked and returned in round `rid`."""
    rows = app.db.run(lambda conn: conn.execute(
        "SELECT player_id, count(*) AS bets, sum(amount)::bigint AS staked,"
        " sum(returned)::bigint AS returned FROM bet_results WHERE round_id = %s"
        " GROUP BY player_id", (rid,)).fetchall())
    return {row["player_id"]: row for row in rows}


def _update_streaks(app: Ember, rid: uuid.UUID, cast: list[Player]) -> None:
    results = _results(app, rid)
    for player in cast:
        result = results.get(player.id)
        if result is not None:
            lost = (result["returned"] or 0) < result["staked"]
            player.losing_streak = player.losing_streak + 1 if lost else 0


def _render_round(console: Console, app: Ember, play: RoundPlay, cast: list[Player]) -> None:
    resolved = app.db.run(lambda conn: conn.execute(
        "SELECT * FROM rounds WHERE id = %s", (play.round_id,)).fetchone())
    console.rule(f"round {play.number} · {DEMO_MARKET.id} · opens {resolved['open_at']:%H:%M:%S}"
                 f" UTC · seed_hash {resolved['seed_hash'][:16]}…")
    console.print(_pools_table(play.pools, resolved))
    console.print(_outcome_line(resolved))
    console.print(_players_table(app, play, cast))
    if play.replay:
        console.print(play.replay)


def _pools_table(pools: dict[int, int], resolved: dict) -> Table:
    total = sum(pools.values())
    table = Table("outcome", "pool (USDT)", "share", "drawn")
    for index, name in enumerate(DEMO_MARKET.outcomes):
        staked = pools.get(index, 0)
        share = f"{staked * 100 / total:.1f}%" if total else "-"
        drawn = "◀" if resolved["outcome"] == index else ""
        table.add_row(name, _usdt(staked), share, drawn)
    return table


def _outcome_line(resolved: dict) -> str:
    drawn = (DEMO_MARKET.outcomes[resolved["outcome"]]
             if resolved["outcome"] is not None else "none")
    if resolved["status"] == "settled":
        return (f"settled: drawn={drawn} pool={_usdt(resolved['total_staked'])}"
                f" commission={_usdt(resolved['commission'])}"
                f" dust={_usdt(resolved['dust'])}"
                f" paid_to_winners={_usdt(resolved['paid_out'])}")
    return (f"{resolved['status']}: drawn={drawn} reason={resolved['refund_reason']}"
            f" refunded={_usdt(resolved['refunded'] or 0)} commission=0")


def _players_table(app: Ember, play: RoundPlay, cast: list[Player]) -> Table:
    results = _results(app, play.round_id)
    table = Table("player", "strategy", "bets", "staked", "returned", "net", "EV", "balance",
                  caption="EV: the bets' expected value as quoted when placed (uniform draw)")
    for player in cast:
        result = results.get(player.id, {"bets": 0, "staked": 0, "returned": 0})
        staked, returned = result["staked"], result["returned"] or 0
        table.add_row(player.id, player.strategy, str(result["bets"]), _usdt(staked),
                      _usdt(returned), _usdt(returned - staked),
                      _usdt(play.expected.get(player.id, 0)),
                      _usdt(app.ledger.balance(player.id)))
    return table


def recreate_database(url: str) -> None:
    """Drops and recreates, empty, the database `url` names; refuses the server's own."""
    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    if name in _SERVER_DATABASES:
        raise SettingsError(f"invalid setting DATABASE_URL: --fresh will not drop {name!r};"
                            " name a database of its own")
    admin = urlunsplit(parts._replace(path="/postgres"))
    database = sql.Identifier(name)
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(database))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(database))
