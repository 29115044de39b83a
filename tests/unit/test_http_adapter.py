"""The HTTP adapter: plain HTTP in, API Gateway REST proxy events to Chalice, HTTP out."""

from __future__ import annotations

import io
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes
from wsgiref.util import setup_testing_defaults

import pytest
from chalice import Chalice, Response

from ember.runtime.http import make_server, make_wsgi_app
from ember.runtime.http.events import LambdaContext

PNG = b"\x89PNG\r\n\x1a\n\x00\xff\xfe"


def build_app() -> Chalice:
    app = Chalice(app_name="http-adapter-test")

    @app.route("/v1/rounds/{round_id}")
    def get_round(round_id):
        query = app.current_request.query_params or {}
        return {"round_id": round_id, "tags": query.getlist("tag") if query else []}

    @app.route("/v1/rounds/current")
    def current_round():
        return {"current": True}

    @app.route("/v1/rounds/{round_id}/bets", methods=["POST"])
    def place_bet(round_id):
        request = app.current_request
        return Response(
            body={
                "round_id": round_id,
                "bet": request.json_body,
                "key": request.headers["x-idempotency-key"],
            },
            status_code=201,
            headers={"Location": f"/v1/rounds/{round_id}/bets/1", "X-Pool": ["win", "lose"]},
        )

    @app.route(
        "/v1/rounds/{round_id}/echo",
        methods=["GET", "POST"],
        content_types=["application/json", "text/plain", "application/octet-stream"],
    )
    def echo(round_id):
        return app.current_request.to_original_event()

    @app.route("/v1/rounds/{round_id}/receipt")
    def receipt(round_id):
        return Response(body=PNG, headers={"Content-Type": "image/png"})

    @app.route("/v1/uploads", methods=["POST"], content_types=["application/octet-stream"])
    def upload():
        return {"size": len(app.current_request.raw_body)}

    @app.route("/v1/context")
    def context():
        ctx = app.lambda_context
        return {
            "aws_request_id": ctx.aws_request_id,
            "function_name": ctx.function_name,
            "remaining_ms": ctx.get_remaining_time_in_millis(),
        }

    @app.route("/v1/slow")
    def slow():
        marker = app.current_request.query_params["n"]
        time.sleep(0.01)
        return {"n": app.current_request.query_params["n"], "marker": marker}

    @app.route("/v1/boom")
    def boom():
        raise RuntimeError("password=hunter2 is wrong")

    @app.route("/v1/broken-binary")
    def broken_binary():
        # A str body with a binary type makes Chalice raise outside its own error handler.
        return Response(body="not bytes", headers={"Content-Type": "application/octet-stream"})

    @app.route("/v1/open", cors=True)
    def open_to_browsers():
        return {"open": True}

    return app


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)

    def header_values(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    wsgi_app: Any,
    method: str,
    target: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    environ: dict[str, Any] | None = None,
    request_uri: bool = True,
) -> Reply:
    """What a WSGI server would do with `method target`: decoded PATH_INFO, raw REQUEST_URI."""
    path, _, query = target.partition("?")
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.7",
        "HTTP_HOST": "api.ember.test",
        "wsgi.input": io.BytesIO(body),
    }
    if request_uri:
        env["REQUEST_URI"] = target
    if body:
        env["CONTENT_LENGTH"] = str(len(body))
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        env[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    env.update(environ or {})
    setup_testing_defaults(env)
    captured: dict[str, Any] = {}

    def start_response(status, response_headers, exc_info=None):
        captured["status"] = int(status.split()[0])
        captured["headers"] = response_headers

    chunks = wsgi_app(env, start_response)
    return Reply(captured["status"], captured["headers"], b"".join(chunks))


@pytest.fixture
def app() -> Chalice:
    return build_app()


@pytest.fixture
def wsgi(app):
    return make_wsgi_app(app, max_body_bytes=1024)


def problem(status: int, title: str, code: str) -> dict[str, Any]:
    return {"type": "about:blank", "title": title, "status": status, "code": code}


def test_path_parameter_reaches_the_view_percent_decoded(wsgi):
    reply = call(wsgi, "GET", "/v1/rounds/r%C3%A9%201")
    assert reply.status == 200
    assert reply.json() == {"round_id": "ré 1", "tags": []}


def test_encoded_slash_stays_inside_its_path_parameter(wsgi):
    assert call(wsgi, "GET", "/v1/rounds/a%2Fb").json()["round_id"] == "a/b"


def test_server_without_raw_uri_still_routes_on_path_info(wsgi):
    reply = call(wsgi, "GET", "/v1/rounds/r%201", request_uri=False)
    assert reply.json()["round_id"] == "r 1"


def test_literal_route_wins_over_a_parameter_as_in_api_gateway(wsgi):
    assert call(wsgi, "GET", "/v1/rounds/current").json() == {"current": True}
    assert call(wsgi, "GET", "/v1/rounds/current/").json() == {"current": True}


def test_repeated_query_parameters_reach_the_view_as_a_list(wsgi):
    reply = call(wsgi, "GET", "/v1/rounds/r1?tag=a&tag=b%20c&tag=d+e")
    assert reply.json()["tags"] == ["a", "b c", "d e"]


def test_event_carries_single_and_multi_value_query_parameters(wsgi):
    event = call(wsgi, "GET", "/v1/rounds/r1/echo?tag=a&tag=b&flag").json()
    assert event["queryStringParameters"] == {"tag": "b", "flag": ""}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "flag": [""]}
    no_query = call(wsgi, "GET", "/v1/rounds/r1/echo").json()
    assert no_query["queryStringParameters"] is None
    assert no_query["multiValueQueryStringParameters"] is None


def test_json_post_with_custom_headers_round_trips(wsgi):
    reply = call(
        wsgi,
        "POST",
        "/v1/rounds/r1/bets",
        headers={"Content-Type": "application/json", "X-Idempotency-Key": "k-1"},
        body=b'{"outcome": "home", "amount": 5}',
    )
    assert reply.status == 201
    assert reply.json() == {"round_id": "r1", "bet": {"outcome": "home", "amount": 5}, "key": "k-1"}
    assert reply.header("Location") == "/v1/rounds/r1/bets/1"
    assert reply.header_values("X-Pool") == ["win", "lose"]
    assert reply.header("Content-Type") == "application/json"  # API Gateway's default
    assert reply.header("Content-Length") == str(len(reply.body))


def test_view_sees_headers_by_any_case(app, wsgi):
    seen = {}

    @app.middleware("http")
    def capture(event, get_response):
        seen.update(app.current_request.headers)
        seen["by-upper"] = app.current_request.headers["X-TRACE-ID"]
        return get_response(event)

    call(wsgi, "GET", "/v1/rounds/r1", headers={"X-Trace-Id": "t-1", "User-Agent": "tests"})
    assert seen["x-trace-id"] == "t-1" and seen["by-upper"] == "t-1"
    assert seen["user-agent"] == "tests" and seen["host"] == "api.ember.test"


def test_binary_response_round_trips_byte_for_byte(wsgi):
    reply = call(wsgi, "GET", "/v1/rounds/r1/receipt", headers={"Accept": "image/png"})
    assert reply.status == 200
    assert reply.body == PNG
    assert reply.header("Content-Type") == "image/png"


def test_binary_response_without_matching_accept_is_refused_by_chalice(wsgi):
    # Chalice's rule, on AWS too: a binary response needs an Accept naming a binary type.
    assert call(wsgi, "GET", "/v1/rounds/r1/receipt").status == 400


def test_binary_request_body_reaches_the_view_intact(wsgi):
    body = bytes(range(256))
    reply = call(
        wsgi,
        "POST",
        "/v1/uploads",
        headers={"Content-Type": "application/octet-stream"},
        body=body,
    )
    assert reply.json() == {"size": 256}


def test_non_utf8_body_is_base64_in_the_event_and_text_is_not(wsgi):
    binary = call(
        wsgi, "POST", "/v1/rounds/r1/echo", headers={"Content-Type": "text/plain"}, body=b"\xff\xfe"
    ).json()
    assert binary["isBase64Encoded"] is True and binary["body"] == "//4="
    text = call(
        wsgi,
        "POST",
        "/v1/rounds/r1/echo",
        headers={"Content-Type": "text/plain"},
        body="é".encode(),
    ).json()
    assert text["isBase64Encoded"] is False and text["body"] == "é"


def test_unknown_path_is_a_404_problem(wsgi):
    reply = call(wsgi, "GET", "/v1/nowhere")
    assert reply.status == 404
    assert reply.header("Content-Type") == "application/problem+json"
    assert reply.json() == problem(404, "Not Found", "not_found")


def test_wrong_method_is_a_405_problem_with_allow(wsgi):
    reply = call(wsgi, "DELETE", "/v1/rounds/r1/echo")
    assert reply.status == 405
    assert reply.header("Content-Type") == "application/problem+json"
    assert reply.header("Allow") == "GET, POST"
    assert reply.json() == problem(405, "Method Not Allowed", "method_not_allowed")


def test_body_over_the_limit_is_a_413_problem(wsgi):
    reply = call(
        wsgi,
        "POST",
        "/v1/uploads",
        headers={"Content-Type": "application/octet-stream"},
        body=b"x" * 1025,
    )
    assert reply.status == 413
    assert reply.json()["code"] == "payload_too_large"


def test_chunked_body_over_the_limit_is_a_413_problem(wsgi):
    environ = {"wsgi.input": io.BytesIO(b"x" * 5000), "wsgi.input_terminated": True}
    reply = call(wsgi, "POST", "/v1/uploads", environ=environ)
    assert reply.status == 413


@pytest.mark.parametrize(
    ("environ", "target"),
    [
        ({"CONTENT_LENGTH": "12abc"}, "/v1/uploads"),
        ({"CONTENT_LENGTH": "-1"}, "/v1/uploads"),
        ({"CONTENT_LENGTH": "10", "wsgi.input": io.BytesIO(b"short")}, "/v1/uploads"),
        ({}, "/v1/rounds/%FF"),
        ({}, "/v1/rounds/r1?tag=%FF"),
    ],
    ids=["length-not-a-number", "negative-length", "short-body", "path", "query"],
)
def test_bad_input_is_a_400_problem_never_a_500(wsgi, environ, target):
    reply = call(wsgi, "POST" if "uploads" in target else "GET", target, environ=environ)
    assert reply.status == 400
    assert reply.header("Content-Type") == "application/problem+json"
    assert reply.json()["code"] == "bad_request"


def test_unreadable_stream_is_a_400_problem(wsgi):
    class HungUp(io.RawIOBase):
        def read(self, size=-1):
            raise OSError("connection reset by peer")

    environ = {"CONTENT_LENGTH": "4", "wsgi.input": HungUp()}
    reply = call(wsgi, "POST", "/v1/uploads", environ=environ)
    assert reply.status == 400 and reply.json()["code"] == "bad_request"


def test_malformed_json_is_chalices_400_not_a_500(wsgi):
    headers = {"Content-Type": "application/json", "X-Idempotency-Key": "k-1"}
    reply = call(wsgi, "POST", "/v1/rounds/r1/bets", headers=headers, body=b'{"amount":')
    assert reply.status == 400


def test_exception_in_a_view_is_a_500_problem_that_leaks_nothing(wsgi):
    reply = call(wsgi, "GET", "/v1/boom")
    assert reply.status == 500
    assert reply.header("Content-Type") == "application/problem+json"
    assert reply.json() == problem(500, "Internal Server Error", "internal_error")


def test_debug_traceback_never_leaves_the_process(app, wsgi):
    app.debug = True
    reply = call(wsgi, "GET", "/v1/boom")
    assert reply.json()["code"] == "internal_error"
    assert b"hunter2" not in reply.body


def test_exception_escaping_chalice_itself_is_a_500_problem(wsgi):
    reply = call(wsgi, "GET", "/v1/broken-binary", headers={"Accept": "application/octet-stream"})
    assert reply.status == 500
    assert reply.json()["code"] == "internal_error"


def test_event_is_what_api_gateway_would_hand_the_lambda(app, wsgi):
    body = b'{"amount":5}'
    before = time.time()
    reply = call(
        wsgi,
        "POST",
        "/v1/rounds/r%201/echo?tag=a&tag=b",
        headers={"Content-Type": "application/json", "X-Trace-Id": "t-1", "User-Agent": "tests"},
        body=body,
    )
    event = reply.json()
    request_id = reply.header("x-amzn-RequestId")
    epoch = event["requestContext"]["requestTimeEpoch"]
    assert int(before * 1000) <= epoch <= int(time.time() * 1000)
    assert re.fullmatch(
        r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", event["requestContext"]["requestTime"]
    )
    headers = {
        "Host": "api.ember.test",
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        "X-Trace-Id": "t-1",
        "User-Agent": "tests",
    }
    hand_built = {
        "resource": "/v1/rounds/{round_id}/echo",
        "path": "/v1/rounds/r%201/echo",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": {"tag": "b"},
        "multiValueQueryStringParameters": {"tag": ["a", "b"]},
        "pathParameters": {"round_id": "r 1"},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/v1/rounds/{round_id}/echo",
            "httpMethod": "POST",
            "path": "/v1/rounds/r%201/echo",
            "stage": "api",
            "requestId": request_id,
            "requestTime": event["requestContext"]["requestTime"],
            "requestTimeEpoch": epoch,
            "protocol": "HTTP/1.1",
            "domainName": "api.ember.test",
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "tests"},
        },
        "body": '{"amount":5}',
        "isBase64Encoded": False,
    }
    assert event == hand_built

    # The same event works handed straight to the app, as Lambda would.
    context = LambdaContext("direct-1", "api", time.monotonic() + 5)
    direct = app(hand_built, context)
    assert direct["statusCode"] == 200
    assert json.loads(direct["body"]) == hand_built


def test_lambda_context_carries_the_request_id_and_a_deadline(wsgi):
    reply = call(wsgi, "GET", "/v1/context")
    body = reply.json()
    assert body["aws_request_id"] == reply.header("x-amzn-RequestId")
    assert body["function_name"] == "api"
    assert 0 < body["remaining_ms"] <= 29_000


def test_cors_preflight_is_answered_without_a_view(wsgi):
    reply = call(wsgi, "OPTIONS", "/v1/open")
    assert reply.status == 200
    assert reply.header("Access-Control-Allow-Origin") == "*"
    assert reply.header("Access-Control-Allow-Methods") == "GET,OPTIONS"
    assert call(wsgi, "OPTIONS", "/v1/rounds/r1").status == 405  # no CORS, no preflight


def test_concurrent_requests_each_see_their_own_current_request(wsgi):
    results: dict[str, dict[str, str]] = {}

    def fetch(n: str) -> None:
        results[n] = call(wsgi, "GET", f"/v1/slow?n={n}").json()

    threads = [threading.Thread(target=fetch, args=(str(n),)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(result == {"n": n, "marker": n} for n, result in results.items())
    assert len(results) == 8


def test_serves_real_http_with_waitress(app):
    server = make_server(app, host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        request = urllib.request.Request(
            f"{base}/v1/rounds/r%201/bets",
            data=b'{"amount": 7}',
            method="POST",
            headers={"Content-Type": "application/json", "X-Idempotency-Key": "k-9"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 201
            assert response.headers["Location"] == "/v1/rounds/r 1/bets/1"
            assert json.loads(response.read()) == {
                "round_id": "r 1",
                "bet": {"amount": 7},
                "key": "k-9",
            }
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{base}/v1/nowhere", timeout=5)
        assert missing.value.code == 404
        assert missing.value.headers["Content-Type"] == "application/problem+json"
        assert json.loads(missing.value.read())["code"] == "not_found"
    finally:
        server.stop()
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_serve_blocks_until_sigterm_then_exits_cleanly(tmp_path):
    with socket.socket() as probe:  # a free port: serve() takes a fixed one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = (
        "from tests.unit.test_http_adapter import build_app\n"
        "from ember.runtime.http import serve\n"
        f"serve(build_app(), port={port}, threads=2)\n"
    )
    root = str(Path(__file__).resolve().parents[2])
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen([sys.executable, "-c", script], cwd=root, stderr=log)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/rounds/current") as reply:
                    assert json.loads(reply.read()) == {"current": True}
                break
            except urllib.error.URLError:
                alive = process.poll() is None and time.monotonic() < deadline
                assert alive, (tmp_path / "serve.log").read_text()
                time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        log.close()
