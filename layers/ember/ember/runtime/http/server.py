"""The WSGI app served by waitress, a pure-Python production server."""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from ..logging import SERVICE
from .sinks import EventSinks
from .wsgi import MAX_BODY_BYTES, make_wsgi_app

if TYPE_CHECKING:
    from chalice import Chalice

logger = Logger(service=SERVICE, child=True)


class HttpServer:
    """A bound waitress server: `run()` serves until `stop()` is called from another thread."""

    def __init__(self, server: Any, socket_map: dict[int, Any]) -> None:
        self._server = server
        self._map = socket_map
        self._stopping = threading.Event()

    @property
    def port(self) -> int | None:
        """The bound port (useful after asking for port 0); None when bound to several."""
        return getattr(self._server, "effective_port", None)

    def run(self) -> None:
        """Serves until stopped, then lets running views finish (5 s at most) and closes.

        Replies not yet written when it stops are dropped: under Knative the queue-proxy
        has drained the pod before SIGTERM reaches us.
        """
        from waitress import wasyncore

        adj = self._server.adj
        try:
            # waitress's own run() loops until every socket is gone, which a client holding
            # a keep-alive connection can postpone for minutes; one poll at a time, instead,
            # lets stop() end it at once, and the sockets are closed on this thread, not
            # under a select() running on it.
            while self._map and not self._stopping.is_set():
                wasyncore.loop(adj.asyncore_loop_timeout, adj.asyncore_use_poll, self._map, 1)
        finally:
            # Workers first: a view midway through a transaction gets to finish it, and
            # their wake-ups still find the trigger open.
            self._server.task_dispatcher.shutdown()
            wasyncore.close_all(self._map, ignore_all=True)

    def stop(self) -> None:
        """Asks `run()` to finish; safe from any thread or a signal handler."""
        self._stopping.set()
        wake = getattr(self._server, "pull_trigger", None)
        if wake is not None:  # a multi-socket server has none: it wakes within a second
            wake()


def make_server(
    chalice_app: Chalice | None,
    host: str = "127.0.0.1",
    port: int = 8080,
    threads: int = 8,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    sinks: EventSinks | None = None,
    **waitress_options: Any,
) -> HttpServer:
    """A bound, not yet running server for `chalice_app` (and `sinks`, Knative's CloudEvents);
    port 0 binds a free port.

    `waitress_options` go to waitress as they are (e.g. `trusted_proxy` behind a proxy).
    """
    # Imported here: Lambda images load the adapter's siblings, never the server.
    from waitress.server import create_server

    options: dict[str, Any] = {
        # waitress buffers a whole body before the app sees it; past twice our own limit
        # it refuses the request itself (plain text 413) instead of spooling it to disk.
        "max_request_body_size": 2 * max_body_bytes,
        "ident": "ember",
        **waitress_options,
    }
    socket_map: dict[int, Any] = {}
    app = make_wsgi_app(chalice_app, max_body_bytes=max_body_bytes, sinks=sinks)
    server = create_server(app, map=socket_map, host=host, port=port, threads=threads, **options)
    return HttpServer(server, socket_map)


def serve(
    chalice_app: Chalice | None,
    host: str = "127.0.0.1",
    port: int = 8080,
    threads: int = 8,
    **options: Any,
) -> None:
    """Serves `chalice_app` until SIGTERM or Ctrl-C; blocks the calling thread."""
    server = make_server(chalice_app, host, port, threads, **options)
    if threading.current_thread() is threading.main_thread():
        # Knative (any container runtime) asks a pod to leave with SIGTERM: running views
        # finish and the process exits 0, rather than dying midway through a transaction.
        signal.signal(signal.SIGTERM, lambda _signum, _frame: server.stop())
    logger.info("http_serving", extra={"host": host, "port": server.port or port})
    # Ctrl-C is how a developer stops it; run() has already closed everything by then.
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    logger.info("http_stopped", extra={"host": host, "port": server.port or port})
