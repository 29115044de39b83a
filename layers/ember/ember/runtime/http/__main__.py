"""The Knative container's server: the API, Knative event sinks and `/metrics`, on waitress.

    python -m ember.runtime.http --port 8080 --app functions/api/app.py    # the players' API
    EMBER_HANDLER=functions/round_keeper/app.py python -m ember.runtime.http --port 8080
    EMBER_CONSUMER_MODULES=functions/burn/app.py python -m ember.runtime.http   # POST /kafka/burn

Without `--app` only event deliveries and `/metrics` are answered.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Any

from ..logging import configure
from ..settings import load_settings
from .server import serve
from .sinks import EventSinks, from_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ember.runtime.http", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a container listens on all
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--app", type=Path, default=None, help="a Chalice app module to serve")
    args = parser.parse_args(argv)
    settings = load_settings()
    configure(settings.log_level)
    sinks: EventSinks | None = None
    if settings.handler or settings.consumer_modules:
        sinks = from_settings(settings.consumer_modules, settings.handler)
    serve(_chalice_app(args.app) if args.app else None, args.host, args.port, args.threads,
          sinks=sinks)


def _chalice_app(path: Path) -> Any:
    sys.path.insert(0, str(path.resolve().parent))  # Lambda's task root: siblings import
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module.app


if __name__ == "__main__":
    main()
