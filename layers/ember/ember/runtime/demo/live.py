"""The live view: a rich table refreshed in place on a terminal, plain lines when piped."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from .market import tokens, usdt
from .stats import Stats, since_start

_PLAIN_EVERY_S = 2.0


class LiveView:
    """`with LiveView(console, title) as view: view.show(...)`; Live only on a terminal."""

    def __init__(self, console: Console, title: str) -> None:
        self.console, self.title = console, title
        self.live: Live | None = None
        self.started = time.monotonic()
        self._previous: Stats | None = None
        self._rate = 0.0
        self._printed = 0.0

    def __enter__(self) -> LiveView:
        if self.console.is_terminal:
            self.live = Live(console=self.console, refresh_per_second=4, transient=False)
            self.live.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.live is not None:
            self.live.__exit__(kind, error, trace)

    def show(self, now: Stats, baseline: Stats, played: int, wanted: int, phase: str) -> None:
        """Renders the reading (or prints a plain line every few seconds when piped)."""
        self._update_rate(now)
        run = since_start(now, baseline)
        if self.live is not None:
            self.live.update(self._panel(now, run, played, wanted, phase))
        elif phase == "done" or time.monotonic() - self._printed >= _PLAIN_EVERY_S:
            self._printed = time.monotonic()
            self.console.print(self.line(now, run, played, wanted, phase), soft_wrap=True)

    def _update_rate(self, now: Stats) -> None:
        if self._previous is not None and now.at > self._previous.at:
            rate = (now.bets - self._previous.bets) / (now.at - self._previous.at)
            self._rate = 0.5 * self._rate + 0.5 * rate  # smoothed: readings come ~4 a second
        self._previous = now

    def line(self, now: Stats, run: Stats, played: int, wanted: int, phase: str) -> str:
        elapsed = time.monotonic() - self.started
        return (f"demo t={elapsed:.0f}s phase={phase} rounds={played}/{wanted}"
                f" settled={now.settled} refunded={now.refunded} bets={now.bets}"
                f" bets_per_s={self._rate:.1f} commission={usdt(run.commission)}"
                f" buybacks={run.buybacks} spent={usdt(run.spent)}"
                f" burned={tokens(run.burned)} dividends={tokens(run.dividends)}"
                f" supply={tokens(now.supply) if now.supply is not None else '?'}"
                f" errors={now.errors}")

    def _panel(self, now: Stats, run: Stats, played: int, wanted: int, phase: str) -> Panel:
        table = Table("", "this run", "in the database", expand=False)
        table.add_row("bets placed (HTTP)", str(now.bets), "")
        table.add_row("bets/s", f"{self._rate:.1f}", "")
        table.add_row("rounds opened", f"{played}/{wanted}", "")
        table.add_row("rounds settled / refunded", f"{now.settled} / {now.refunded}", "")
        table.add_row("commission (USDT)", usdt(run.commission), usdt(now.commission))
        table.add_row("commission pool now (USDT)", "", usdt(now.commission_pool))
        table.add_row("buy-backs (spent USDT)", f"{run.buybacks} ({usdt(run.spent)})",
                      f"{now.buybacks} ({usdt(now.spent)})")
        table.add_row("tokens burned", tokens(run.burned), tokens(now.burned))
        table.add_row("dividends to the pool (tokens)", tokens(run.dividends),
                      tokens(now.dividends))
        table.add_row("total supply (tokens)", "",
                      tokens(now.supply) if now.supply is not None else "?")
        errors = f"{now.errors}" + (f" (stopped: {', '.join(now.dead)})" if now.dead else "")
        table.add_row("errors", errors, "", style="red" if now.errors else None)
        table.add_row("refused bets (round closed, …)", str(now.refused_bets), "")
        elapsed = time.monotonic() - self.started
        footer = f"{phase} · {elapsed:.0f}s · Ctrl-C stops cleanly"
        return Panel(Group(table, footer), title=self.title)
