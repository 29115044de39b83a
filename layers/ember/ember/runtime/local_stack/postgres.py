"""Embedded PostgreSQL from the pgserver wheel, on 127.0.0.1 with its data under the stack root."""

from __future__ import annotations

import contextlib
import os
import pwd
import shlex
import stat
import subprocess
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import psycopg

from ember.runtime.local_stack import processes
from ember.runtime.local_stack.state import ServiceRecord

NAME = "postgres"
ENV_VAR = "DATABASE_URL"
STARTUP_TIMEOUT = 60.0

_DATABASE = "ember"
_SUPERUSER = "postgres"
# PostgreSQL refuses to run as root; pgserver's answer is a dedicated system user.
_SYSTEM_USER = "pgserver"
# AF_UNIX socket paths are capped at 104-108 bytes depending on the OS.
_MAX_SOCKET_PATH = 100
_PG_CTL_WAIT_SECONDS = 30
_INITDB_OPTIONS = ("--auth=trust", "--auth-local=trust", "--encoding=utf8", "-U", _SUPERUSER)


def log_file(root: Path) -> Path:
    """The server log: initdb, pg_ctl and postmaster output all land here."""
    return root / NAME / "postgres.log"


def start(root: Path, port: int) -> ServiceRecord:
    """Starts the server on `port` (initialising the data dir once) and returns its record."""
    home = root / NAME
    home.mkdir(parents=True, exist_ok=True)
    log_file(root).touch()
    user = _system_user()
    if user is not None:
        _grant_access(user, home)
    data = home / "data"
    if not (data / "PG_VERSION").exists():
        _pg("initdb", ["-D", str(data), *_INITDB_OPTIONS], root, user)
    # A postmaster left over from a lost state file would hold the data dir.
    _stop_server(root, user)
    options = _server_options(home, port)
    _pg(
        "pg_ctl",
        [*_pg_ctl_args(data, "start"), "-l", str(log_file(root)), "-o", options],
        root,
        user,
    )
    pid = _postmaster_pid(data)
    _ensure_database(port)
    url = f"postgresql://{_SUPERUSER}@{processes.LOOPBACK}:{port}/{_DATABASE}"
    return ServiceRecord(NAME, pid, port, url, processes.start_time(pid))


def stop(root: Path, record: ServiceRecord) -> None:
    """Returns once the server is stopped: a fast shutdown, then signals if that failed."""
    # If pg_ctl fails, the signals below still stop the postmaster.
    with contextlib.suppress(subprocess.SubprocessError):
        _stop_server(root, _system_user())
    processes.terminate(record.pid, record.started_at)


def is_healthy(url: str) -> bool:
    """True when `SELECT 1` succeeds against `url`."""
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def _server_options(home: Path, port: int) -> str:
    """The postgres command line pg_ctl passes through its shell: TCP on loopback, a socket dir."""
    socket_dir = home / "run"
    socket_dir.mkdir(exist_ok=True)
    if len(str(socket_dir / f".s.PGSQL.{port}")) > _MAX_SOCKET_PATH:
        socket_dir_option = "''"  # too deep for a unix socket: TCP only
    else:
        socket_dir_option = shlex.quote(str(socket_dir))
        _chown_like(home, socket_dir)
    return f"-h {processes.LOOPBACK} -p {port} -k {socket_dir_option}"


def _stop_server(root: Path, user: str | None) -> None:
    """Stops the postmaster using this data dir, if one is running."""
    data = root / NAME / "data"
    if not (data / "postmaster.pid").exists():
        return
    status = _pg("pg_ctl", ["-D", str(data), "status"], root, user, check=False)
    if status.returncode == 0:  # 3 means not running
        _pg("pg_ctl", [*_pg_ctl_args(data, "stop"), "-m", "fast"], root, user)


def _pg_ctl_args(data: Path, action: str) -> list[str]:
    """pg_ctl arguments for `action` on `data` that wait for it to finish."""
    return [action, "-D", str(data), "-w", "-t", str(_PG_CTL_WAIT_SECONDS)]


def _postmaster_pid(data: Path) -> int:
    """The postmaster's pid, from the first line of postmaster.pid."""
    return int((data / "postmaster.pid").read_text().splitlines()[0])


def _ensure_database(port: int) -> None:
    """Creates the application database unless it already exists."""
    admin_url = f"postgresql://{_SUPERUSER}@{processes.LOOPBACK}:{port}/postgres"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (_DATABASE,)
        ).fetchone()
        if exists is None:
            conn.execute(f'CREATE DATABASE "{_DATABASE}"')


def _pg(
    program: str, args: Sequence[str], root: Path, user: str | None, *, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    """Runs a bundled PostgreSQL program as `user`, appending its output to the server log."""
    _, bin_dir = _pgserver()
    with log_file(root).open("ab") as log:
        return subprocess.run(
            [str(bin_dir / program), *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=check,
            timeout=_PG_CTL_WAIT_SECONDS + 30,
            user=user,
            cwd=root / NAME,  # the system user may not be allowed into our cwd
            start_new_session=True,  # the postmaster must not share the CLI's terminal
        )


def _system_user() -> str | None:
    """The system user to run PostgreSQL as: pgserver's when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    utils, _ = _pgserver()
    utils.ensure_user_exists(_SYSTEM_USER)
    return _SYSTEM_USER


def _grant_access(user: str, home: Path) -> None:
    """Lets `user` reach the bundled binaries and own the service's folder (pgserver's recipe)."""
    utils, bin_dir = _pgserver()
    read = stat.S_IRGRP | stat.S_IROTH
    execute = stat.S_IXGRP | stat.S_IXOTH
    utils.ensure_prefix_permissions(home)
    utils.ensure_prefix_permissions(bin_dir)
    utils.ensure_folder_permissions(bin_dir, read | execute)
    utils.ensure_folder_permissions(bin_dir.parent / "lib", read)
    entry = pwd.getpwnam(user)
    for path in (home, log_file(home.parent)):
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _chown_like(model: Path, path: Path) -> None:
    """Gives `path` the owner of `model`, so the server's user can write to it."""
    if os.geteuid() == 0:
        info = model.stat()
        os.chown(path, info.st_uid, info.st_gid)


def _pgserver() -> tuple[ModuleType, Path]:
    """pgserver's permission helpers and the folder of its bundled PostgreSQL binaries."""
    # Importing pgserver computes a platformdirs runtime path at import time, which warns
    # when XDG_RUNTIME_DIR is unset; we never use that path.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pgserver.utils as utils
        from pgserver._commands import POSTGRES_BIN_PATH
    return utils, Path(POSTGRES_BIN_PATH)
