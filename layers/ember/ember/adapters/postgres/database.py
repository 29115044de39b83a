"""Transactions against PostgreSQL, retried when the server asks for it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from psycopg import errors
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_random_exponential

T = TypeVar("T")
Work = Callable[[psycopg.Connection], T]

# Deadlocks and serialization failures are the server telling us to try again: the
# transaction was rolled back whole, so a retry is safe.
_retryable = retry(
    retry=retry_if_exception_type((errors.DeadlockDetected, errors.SerializationFailure)),
    stop=stop_after_attempt(5),
    wait=wait_random_exponential(multiplier=0.01, max=0.5),
    reraise=True,
)


class Database:
    """A connection pool handing out one transaction per unit of work."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10, name: str = "ember",
                 connect_kwargs: Callable[[], dict[str, Any]] | None = None, open: bool = True):
        """`connect_kwargs`, when given, is called for each new connection and its result
        added to that connection's parameters (e.g. a fresh IAM token as its password)."""
        self.url = url
        fixed: dict[str, Any] = {"row_factory": dict_row, "autocommit": False}
        kwargs: dict[str, Any] | Callable[[], dict[str, Any]] = fixed
        if connect_kwargs is not None:
            extra = connect_kwargs

            def per_connection() -> dict[str, Any]:
                return {**fixed, **extra()}
            kwargs = per_connection
        self.pool = ConnectionPool(
            url, min_size=min_size, max_size=max_size, name=name, open=open, kwargs=kwargs,
        )

    @_retryable
    def run(self, work: Work[T]) -> T:
        """What `work` returns, after committing the transaction it ran in."""
        with self.pool.connection() as conn, conn.transaction():
            return work(conn)

    @_retryable
    def run_autocommit(self, work: Work[T]) -> T:
        """What `work` returns, each statement it runs a transaction of its own."""
        with self.pool.connection() as conn:
            conn.autocommit = True
            try:
                return work(conn)
            finally:
                if not conn.closed:  # a broken connection is the pool's to discard
                    conn.autocommit = False

    def close(self) -> None:
        self.pool.close()


def violated(error: psycopg.Error) -> str:
    """The name of the constraint an integrity error broke ('' when none)."""
    diag = getattr(error, "diag", None)
    return (diag.constraint_name or "") if diag else ""
