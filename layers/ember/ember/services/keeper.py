"""Use case: keep rounds flowing. Open upcoming ones, lock, and resolve those due.

Idempotent and safe to run twice at once: creation collides on derived round ids,
status changes are conditional updates, and resolution locks the round row.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from aws_lambda_powertools import Logger

from ember.adapters.postgres.rounds import ResolvedRound
from ember.domain.clock import Clock
from ember.domain.fairness import new_seed
from ember.domain.resolution import resolve
from ember.domain.rounds import upcoming_opens

from .ports import Markets, Rounds, SaltSource

logger = Logger(service="ember", child=True)

# Called once a resolution committed; must not raise (see outbox_relay.publish_after_commit).
AfterCommit = Callable[[], object]


@dataclass
class KeeperRun:
    created: int = 0
    opened: int = 0
    locked: int = 0
    resolved: list[ResolvedRound] = field(default_factory=list)
    settle_seconds: list[float] = field(default_factory=list)  # per resolved round, for metrics


def run_keeper(*, markets: Markets, rounds: Rounds, salts: SaltSource, clock: Clock,
               ahead: int = 2, seeds: Callable[[], str] = new_seed,
               after_commit: AfterCommit | None = None) -> KeeperRun:
    """What this pass did: rounds created, opened, locked and resolved.

    `after_commit` (publishing the outbox) runs once after the pass resolved any round.
    """
    run = KeeperRun()
    now = clock.now()
    for market in markets.active():
        for open_at in upcoming_opens(market, now, ahead):
            lock_at = open_at.timestamp() + market.bet_window_s
            if lock_at > now.timestamp() and rounds.create(market, open_at, seeds(), now):
                run.created += 1
    run.opened, run.locked = rounds.advance(now)
    try:
        for rid in rounds.due(now):
            started = time.perf_counter()
            resolved = resolve_round(rid, rounds=rounds, salts=salts, clock=clock)
            if resolved is not None:
                run.resolved.append(resolved)
                run.settle_seconds.append(time.perf_counter() - started)
    finally:
        # Once per pass, not per round: one sweep publishes every round resolved so far,
        # even when a later round failed.
        if after_commit is not None and run.resolved:
            after_commit()
    logger.info("keeper_run", extra={"rounds_created": run.created, "rounds_opened": run.opened,
                                     "rounds_locked": run.locked,
                                     "rounds_resolved": len(run.resolved)})
    return run


def resolve_round(rid: uuid.UUID, *, rounds: Rounds, salts: SaltSource, clock: Clock,
                  after_commit: AfterCommit | None = None) -> ResolvedRound | None:
    """The round settled or refunded now, or None when it is not due or already final.

    `after_commit` (publishing the outbox) runs once the resolution committed.
    """
    now = clock.now()
    salt = salts.salt_for(rid, now)
    resolved = rounds.resolve(rid, lambda round_, pools, seed: resolve(round_, pools, seed, salt, now),
                              now)
    if resolved is not None:
        logger.info("round_resolved", extra={"round_id": str(rid), "status": resolved.status,
                                             "outcome": resolved.outcome, "total": resolved.total,
                                             "commission": resolved.commission})
        if after_commit is not None:
            after_commit()
    return resolved
