"""One demo run: bring the stack up, start the functions, let the players bet over HTTP while
the live view runs, wait for settlement, buy-back and burn, then stop everything and audit."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from rich.console import Console

from ember.adapters.postgres.database import Database
from ember.runtime.cli_api import mint_token

from . import audit as books
from . import summary
from .chain import ChainView
from .client import Api
from .live import LiveView
from .market import DemoOptions
from .players import STRATEGIES, Player, PlayerLoop, Tally, fund, player_name
from .report import ReportOutcome, burn_report
from .rounds import RoundSchedule
from .services import Services, start_services
from .stack import DemoStack, bring_up
from .stats import StatsReader

Log = Callable[[str], None]
INTERRUPTED = 130
_DRAIN_TIMEOUT_S = 60.0


@dataclass
class Game:
    """The players' side of a run: their threads, the rounds they play, what they did."""

    cast: list[Player]
    schedule: RoundSchedule
    tally: Tally
    stop: threading.Event
    threads: list[threading.Thread]

    def betting(self) -> bool:
        return any(thread.is_alive() for thread in self.threads)

    def halt(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=15)


def run_demo(options: DemoOptions, console: Console, log: Log) -> int:
    """The exit code: 0 when the audit passed, 1 when it failed, 130 when interrupted."""
    started = time.monotonic()
    _stop_on_signals()
    stack = bring_up(options, log)
    services: Services | None = None
    game: Game | None = None
    try:
        log(f"stack_ready seconds={time.monotonic() - started:.1f}"
            f" deployment={'reused' if stack.deployment.reused else 'new'}")
        services = start_services(stack.env, options.root.resolve(), stack.repo,
                                  keeper_every=0.5, log_dir=options.root.resolve() / "demo" / "logs")
        log(f"services_ready api={services.api_url} seconds={time.monotonic() - started:.1f}")
        api = Api(services.api_url)
        game = _start_game(api, stack, options)
        chain = ChainView(stack.settings.chain_rpc_url or "", stack.deployment.deployment)
        _watch(console, stack, services, game, chain, options)
        game.halt()
        # The API stays up for the audit's /verify calls; nothing else may move the books.
        services.stop("keeper", "relay", "consumers")
        code = _finish(console, stack, api, game, chain, options, started)
        services.stop()
        return code
    except KeyboardInterrupt:
        with _sigint_ignored():
            _stop_all(game, services)
        console.print("interrupted: players, API, keeper, relay and consumers stopped;"
                      " the local stack is left up (`ember down` stops it)")
        return INTERRUPTED
    finally:
        with _sigint_ignored():
            _stop_all(game, services)
            stack.close()


def _start_game(api: Api, stack: DemoStack, options: DemoOptions) -> Game:
    """The players, funded, and their threads betting on the next rounds."""
    run = uuid.uuid4().hex[:8]
    secret = stack.env["EMBER_WEBHOOK_SECRET"]
    cast = [Player(name, STRATEGIES[i % len(STRATEGIES)],
                   mint_token(stack.settings, name, ("player",), 3600))
            for i, name in enumerate(player_name(i) for i in range(options.players))]
    tally, stop = Tally(), threading.Event()
    for player in cast:
        fund(api, secret, player, run, tally)
    schedule = RoundSchedule(api, stack.market.id, options.rounds, stop)
    threads = [threading.Thread(target=schedule.run, name="demo-rounds", daemon=True)]
    threads += [threading.Thread(target=PlayerLoop(api, player, stack.market, schedule, tally, stop,
                                                   replays=index == 0).run,
                                 name=f"demo-{player.id}", daemon=True)
                for index, player in enumerate(cast)]
    for thread in threads:
        thread.start()
    return Game(cast, schedule, tally, stop, threads)


def _watch(console: Console, stack: DemoStack, services: Services, game: Game, chain: ChainView,
           options: DemoOptions) -> None:
    """Refreshes the live view until the rounds are resolved and the buy-backs burned."""
    reader = StatsReader(stack.settings.database_url, chain, game.tally,
                         lambda: [r.id for r in game.schedule.played], game.schedule.not_before)
    threshold = stack.settings.buyback_threshold
    title = (f"Ember demo · {options.players} players · {options.rounds} rounds of"
             f" {stack.market.interval_s}s on {stack.market.id}")
    try:
        baseline = reader.read()
        drain_started: float | None = None
        with LiveView(console, title) as view:
            while True:
                now = reader.read(services.dead())
                played = game.schedule.opened()
                resolved = now.settled + now.refunded >= options.rounds
                phase = ("betting" if game.betting() else
                         "settling" if not resolved else "buy-back and burn")
                view.show(now, baseline, played, options.rounds, phase)
                if services.dead() and not game.betting():
                    return
                if resolved and not game.betting():
                    drain_started = drain_started or time.monotonic()
                    idle = (now.commission_pool < threshold and not now.pending_burns
                            and not now.planned_buybacks and not now.unburned)
                    if idle or time.monotonic() - drain_started > _DRAIN_TIMEOUT_S:
                        view.show(reader.read(services.dead()), baseline, played, options.rounds,
                                  "done")
                        return
                time.sleep(0.25)
    finally:
        reader.close()


def _stop_all(game: Game | None, services: Services | None) -> None:
    if game is not None:
        game.halt()
    if services is not None:
        services.stop()


def _finish(console: Console, stack: DemoStack, api: Api, game: Game, chain: ChainView,
            options: DemoOptions, started: float) -> int:
    """Tables, the burn report and the audit, after every process stopped."""
    ended = time.time()
    round_ids = [r.id for r in game.schedule.played]
    db = Database(stack.settings.database_url, max_size=2, name="ember-demo-audit")
    try:
        summary.render_rounds(console, db, stack.market, round_ids)
        summary.render_players(console, db, game.cast, game.tally, round_ids)
        facts = books.RunFacts(round_ids, game.tally.replays, game.tally.replays_ok,
                               game.tally.bets, game.schedule.not_before)
        passed = books.render_audit(console, books.audit(db, chain, api, facts))
    finally:
        db.close()
    report = burn_report(stack.env, options.root.resolve(), stack.repo, game.schedule.not_before,
                         ended, options.root.resolve() / "demo" / "reports")
    _render_report(console, report)
    console.print(f"demo finished in {time.monotonic() - started:.0f}s; the local stack is left up"
                  " (`ember down` stops it); logs in"
                  f" {options.root.resolve() / 'demo' / 'logs'}")
    return 0 if passed else 1


def _render_report(console: Console, report: ReportOutcome) -> None:
    console.rule("burn report")
    if not report.available:
        console.print(report.message)
        return
    for fmt, location in sorted(report.locations.items()):
        console.print(f"{fmt:5} {location}")
    verdict = "reconciled" if report.reconciled else "NOT reconciled"
    console.print(f"report {verdict}" + (f": {report.message}" if report.message else ""))


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM both stop the run cleanly, even when a shell started the demo in the
    background (which leaves SIGINT ignored)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """A second Ctrl-C must not cut the shutdown short (each step has its own timeout)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
