"""One decorator per view: authentication, role check, JSON out, problems for errors.

Chalice's middleware does not see exceptions raised by views, so each view is wrapped
here: an EmberError becomes its problem+json response, anything else a logged 500 that
leaks nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from chalice import Chalice, Response

from ember.adapters.auth import Principal
from ember.domain.errors import EmberError

from . import context
from .json import dumps
from .problems import from_error, problem_response

logger = Logger(service="ember", child=True)
View = Callable[..., Any]


def endpoint(app: Chalice, path: str, method: str, role: str | None = None,
             status: int = 200) -> Callable[[View], View]:
    """Registers `view` for `method path`; it gets the Principal first when `role` is set."""
    def register(view: View) -> View:
        @functools.wraps(view)
        def handle(**params: object) -> Response:
            try:
                if role is not None:
                    principal = caller(app)
                    principal.require(role)
                    params = {"principal": principal, **params}
                return respond(view(**params), status)
            except EmberError as error:
                return from_error(error)
            except Exception:
                logger.exception("request_failed", extra={"path": path, "method": method})
                return problem_response(500, "internal_error", "the request failed; retry later")
        # Any Content-Type reaches the view: Chalice's own refusal of a media type is a 415
        # {"Code", "Message"}, not problem+json; a view that reads a body refuses non-JSON
        # itself (json.parse_object: 415 unsupported_media_type), one that reads none ignores it.
        app.route(path, methods=[method], content_types=["*/*"])(handle)
        return view
    return register


def caller(app: Chalice) -> Principal:
    return context.current().authenticate(app.current_request)


def respond(result: Any, status: int) -> Response:
    """A view's return as a JSON response: a body, or (body, status, headers)."""
    if isinstance(result, Response):
        return result
    headers: dict[str, str] = {}
    if isinstance(result, tuple):
        result, status, headers = result
    return Response(body=dumps(result), status_code=status,
                    headers={"Content-Type": "application/json", **headers})
