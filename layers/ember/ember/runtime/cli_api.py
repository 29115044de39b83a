"""`ember api` and `ember token`: the players' API served on this machine, and tokens to call it.

`ember api` serves `functions/api/app.py` (the Lambda's Chalice app) through the HTTP adapter,
on the database and Redis the other commands use. Locally tokens are HS256: without
EMBER_JWT_SECRET, a secret is generated once into `<root>/jwt-secret` (mode 0600), and
`ember token PLAYER` signs with the same one:

    ember api --port 8080 &
    curl -H "Authorization: Bearer $(ember token alice)" http://127.0.0.1:8080/v1/me
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from pydantic import SecretStr

from ember.adapters.auth import ROLES
from ember.runtime.cli_context import configure_logging, ember_for, progress, settings_for
from ember.runtime.settings import Settings, SettingsError

JWT_SECRET_FILE = "jwt-secret"
DEFAULT_APP = Path("functions/api/app.py")


def register(group: click.Group, root_option: Callable[[Any], Any]) -> None:
    """Adds `api` and `token` to the `ember` command group."""

    @group.command()
    @root_option
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
    @click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
                  help="Port to listen on; 0 picks a free one.")
    @click.option("--app", "app_path", type=click.Path(dir_okay=False, path_type=Path),
                  default=DEFAULT_APP, show_default=True, help="The Chalice app's module.")
    def api(root: Path, host: str, port: int, app_path: Path) -> None:
        """Serve the players' API over HTTP until Ctrl-C or SIGTERM."""
        settings = with_local_jwt_secret(settings_for(root), root)
        configure_logging(settings)
        serve_api(settings, load_chalice_app(app_path), host, port)

    @group.command()
    @root_option
    @click.argument("player")
    @click.option("--role", "roles", type=click.Choice(sorted(ROLES)), multiple=True,
                  default=("player",), show_default=True, help="A role; repeat for several.")
    @click.option("--ttl", type=click.IntRange(1, 7 * 24 * 3600), default=3600, show_default=True,
                  help="Seconds the token stays valid.")
    def token(root: Path, player: str, roles: tuple[str, ...], ttl: int) -> None:
        """Print a bearer token for PLAYER, signed as `ember api` checks it (HS256)."""
        settings = with_local_jwt_secret(settings_for(root), root)
        click.echo(mint_token(settings, player, roles, ttl))


def with_local_jwt_secret(settings: Settings, root: Path) -> Settings:
    """`settings`, with the local secret when HS256 auth has no EMBER_JWT_SECRET."""
    if settings.auth_mode != "hs256" or settings.jwt_secret is not None:
        return settings
    secret = local_jwt_secret(root / JWT_SECRET_FILE)
    return settings.model_copy(update={"jwt_secret": SecretStr(secret)})


def local_jwt_secret(path: Path) -> str:
    """The secret stored at `path`, created (mode 0600) on first use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: of two commands starting at once, one writes and both read the same secret.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
        progress(f"jwt_secret_created path={path}")
    secret = _read_secret(path)
    if len(secret.encode()) < 32:
        raise SettingsError(f"invalid setting EMBER_JWT_SECRET: {path} holds under 32 bytes;"
                            " delete it to have a new one generated")
    return secret


def _read_secret(path: Path) -> str:
    # A writer that just created the file may not have filled it yet.
    for _ in range(50):
        secret = path.read_text().strip()
        if secret:
            return secret
        time.sleep(0.02)
    return ""


def mint_token(settings: Settings, player: str, roles: tuple[str, ...], ttl: int) -> str:
    """A JWT the API accepts in HS256 mode: issuer, audience and roles from `settings`."""
    import jwt

    from ember.adapters.auth.authorizer import COGNITO_GROUPS

    if settings.auth_mode != "hs256" or settings.jwt_secret is None:
        raise SettingsError("invalid setting EMBER_AUTH_MODE: `ember token` signs HS256 tokens,"
                            f" the API is in {settings.auth_mode} mode")
    now = int(time.time())
    claims = {"sub": player, "iss": settings.jwt_issuer, "aud": settings.jwt_audience,
              "iat": now, "exp": now + ttl, COGNITO_GROUPS: sorted(set(roles))}
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")


def load_chalice_app(path: Path) -> Any:
    """The `app` of the Chalice module at `path`, imported as Lambda imports it."""
    if not path.is_file():
        raise click.BadParameter(f"no file at {path}", param_hint="--app")
    sys.path.insert(0, str(path.resolve().parent))  # Lambda's task root: siblings import
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module.app


def serve_api(settings: Settings, chalice_app: Any, host: str, port: int) -> None:
    """Serves `chalice_app` on the database `settings` name until Ctrl-C or SIGTERM."""
    from ember.runtime.api import context
    from ember.runtime.http import make_server

    with ember_for(settings) as app:
        context.use(context.api_context(app))
        try:
            server = make_server(chalice_app, host, port)
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGTERM, lambda _signum, _frame: server.stop())
            url = f"http://{host}:{server.port}"
            progress(f"api_serving url={url} docs={url}/v1/openapi.json")
            progress(f'call it as a player: curl -H "Authorization: Bearer $(ember token alice)"'
                     f" {url}/v1/me  (ember token NAME --role operator|finance for the others)")
            with contextlib.suppress(KeyboardInterrupt):
                server.run()
            progress("api_stopped")
        finally:
            context.use(None)
