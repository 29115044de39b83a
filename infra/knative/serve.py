"""The Knative image's entrypoint: one of functions/, served over HTTP on $PORT.

`EMBER_HANDLER` names the function (the same folders the Lambda zips are made of):

- `api`: the Chalice app, served by the HTTP adapter (`ember.runtime.http.serve`, waitress);
- `buy_tokens`, `burn`: KafkaSource CloudEvents, handed to the function's MSK handler;
- `round_keeper`, `outbox_relay`, `burn_report`: PingSource events, handed to its schedule
  handler.

Knative sets PORT. The Chalice adapter runs one invocation at a time per process (as Lambda
does), so the services run with containerConcurrency 1 and scale out in pods.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

FUNCTIONS = Path(os.environ.get("EMBER_FUNCTIONS_DIR", "/app/functions"))
# Which Knative source feeds each function; "http" is the players' API.
HANDLERS = {"api": "http", "buy_tokens": "kafka", "burn": "kafka", "round_keeper": "ping",
            "outbox_relay": "ping", "burn_report": "ping"}
# Variables the image reads that are not application settings (ember.runtime.settings).
IMAGE_ENV = ("EMBER_HANDLER", "EMBER_FUNCTIONS_DIR", "EMBER_HTTP_THREADS")


def load(function: str) -> ModuleType:
    """functions/<function>/app.py, imported as Lambda imports it (its folder on sys.path)."""
    path = FUNCTIONS / function / "app.py"
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location("app", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise SystemExit(f"EMBER_HANDLER={function}: no {path} in this image")
    module = importlib.util.module_from_spec(spec)
    sys.modules["app"] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    function = os.environ.get("EMBER_HANDLER", "api")
    source = HANDLERS.get(function)
    if source is None:
        raise SystemExit(f"invalid setting EMBER_HANDLER: {function!r} is not one of "
                         f"{', '.join(sorted(HANDLERS))}")
    port = int(os.environ.get("PORT", "8080"))
    threads = int(os.environ.get("EMBER_HTTP_THREADS", "4"))
    from ember.runtime import http
    from ember.runtime.http.sinks import EventSinks, load_handler

    if source == "http":
        http.serve(load(function).app, host="0.0.0.0", port=port, threads=threads)
        return
    # KafkaSource / PingSource CloudEvents become MSK batches / schedule events for the
    # function's Lambda handler (ember.runtime.http.sinks), on the same server.
    handler = load_handler(str(FUNCTIONS / function / "app.py"))
    http.serve(None, host="0.0.0.0", port=port, threads=threads, sinks=EventSinks(default=handler))

if __name__ == "__main__":
    main()
