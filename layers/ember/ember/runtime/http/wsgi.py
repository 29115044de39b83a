"""A WSGI application that serves a Chalice app as API Gateway's REST proxy would.

The same process also answers `GET /metrics` (Prometheus text format) and, given `sinks`,
Knative KafkaSource and PingSource CloudEvents (see `sinks`).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from aws_lambda_powertools import Logger

from .. import metrics
from ..logging import SERVICE
from .environ import headers, raw_path, read_body, read_request
from .events import LambdaContext, rest_event
from .problems import Rejected, Reply, internal_error, method_not_allowed, not_found, rejected
from .responses import from_lambda_response
from .routes import RouteMatch, RouteTable
from .sinks import EventSinks, LambdaHandler, deliver

if TYPE_CHECKING:
    from chalice import Chalice

MAX_BODY_BYTES = 1024 * 1024
# API Gateway gives up on an integration after 29 s; the app sees the same deadline.
DEFAULT_TIMEOUT_SECONDS = 29.0
METRICS_PATH = "/metrics"

logger = Logger(service=SERVICE, child=True)


def make_wsgi_app(
    chalice_app: Chalice | None,
    *,
    sinks: EventSinks | None = None,
    metrics_path: str | None = METRICS_PATH,
    max_body_bytes: int = MAX_BODY_BYTES,
    function_name: str = "api",
    stage: str = "api",
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> WSGIApplication:
    """A WSGI callable that hands each request to `chalice_app` as a Lambda proxy event.

    Routes are read now: a route registered after this call is not served. Without a Chalice
    app (an event sink only) every other request is a 404. `metrics_path` None: no metrics.
    """
    return _ChaliceAdapter(chalice_app, max_body_bytes, function_name, stage, timeout_seconds,
                           sinks, metrics_path)


class _ChaliceAdapter:
    def __init__(
        self,
        chalice_app: Chalice | None,
        max_body_bytes: int,
        function_name: str,
        stage: str,
        timeout_seconds: float,
        sinks: EventSinks | None = None,
        metrics_path: str | None = METRICS_PATH,
    ) -> None:
        self._app = chalice_app
        self._routes = RouteTable(chalice_app.routes if chalice_app is not None else {})
        self._sinks = sinks
        self._metrics_path = metrics_path
        self._max_body_bytes = max_body_bytes
        self._function_name = function_name
        self._stage = stage
        self._timeout_seconds = timeout_seconds
        # One invocation at a time, as in a Lambda execution environment: Chalice keeps
        # `app.current_request` on the app object and Powertools keeps the correlation id
        # on the logger, both shared by every thread of the process.
        self._invocation = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request_id = str(uuid.uuid4())
        reply = self._reply(environ, request_id)
        if reply.header("x-amzn-requestid") is None:
            # API Gateway returns its request id too; it finds the request's log lines.
            reply.headers.append(("x-amzn-RequestId", request_id))
        reply.headers.append(("Content-Length", str(len(reply.body))))
        start_response(_status_line(reply.status), reply.headers)
        return [reply.body]

    def _reply(self, environ: WSGIEnvironment, request_id: str) -> Reply:
        try:
            return self._invoke(environ, request_id)
        except Rejected as error:
            return rejected(error)
        except Exception:
            logger.exception(
                "http_request_failed",
                extra={"request_id": request_id, "method": environ.get("REQUEST_METHOD")},
            )
            metrics.count(metrics.ERRORS, source="http")
            return internal_error()

    def _invoke(self, environ: WSGIEnvironment, request_id: str) -> Reply:
        path = raw_path(environ)
        method = environ["REQUEST_METHOD"].upper()
        sinks = self._sinks
        if sinks is not None and method == "POST" and sinks.claims(path, _has_cloud_event(environ)):
            return deliver(sinks, path, headers(environ), read_body(environ, self._max_body_bytes),
                           lambda handler, event: self._invoke_handler(handler, event, request_id))
        route = self._routes.match(path)
        if route is None and method == "GET" and path == self._metrics_path:
            return _metrics_reply()
        if route is None:
            return not_found()
        if method not in route.views:
            if method == "OPTIONS" and (preflight := _cors_preflight(route)) is not None:
                return preflight
            return method_not_allowed(sorted(route.views))
        assert self._app is not None  # a route matched, so there is an app
        request = read_request(environ, path, self._max_body_bytes)
        event = rest_event(
            request,
            route,
            request_id=request_id,
            received_at=time.time(),
            stage=self._stage,
            binary_types=self._app.api.binary_types,
        )
        response: Any = self._invoke_handler(self._app, event, request_id)
        reply = from_lambda_response(response)
        if reply.status >= 500:
            metrics.count(metrics.ERRORS, source="http")
        return reply

    def _invoke_handler(self, handler: LambdaHandler, event: dict[str, Any], request_id: str) -> Any:
        with self._invocation:
            deadline = time.monotonic() + self._timeout_seconds
            context = LambdaContext(request_id, self._function_name, deadline)
            return handler(event, context)


def _has_cloud_event(environ: WSGIEnvironment) -> bool:
    content_type = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
    return "HTTP_CE_TYPE" in environ or content_type == "application/cloudevents+json"


def _metrics_reply() -> Reply:
    backend = metrics.backend()
    if not isinstance(backend, metrics.PrometheusMetrics):
        return not_found()
    body, content_type = backend.exposition()
    return Reply(200, [("Content-Type", content_type)], body)


def _cors_preflight(route: RouteMatch) -> Reply | None:
    # API Gateway answers OPTIONS itself (a mock integration Chalice deploys) on a path
    # with CORS enabled and no OPTIONS view of its own; the app is never invoked.
    config = next((v.cors for v in route.views.values() if getattr(v, "cors", None)), None)
    if config is None:
        return None
    headers = list(config.get_access_control_headers().items())
    methods = ",".join([*route.views, "OPTIONS"])
    return Reply(
        200,
        [*headers, ("Access-Control-Allow-Methods", methods), ("Content-Type", "application/json")],
    )


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"
