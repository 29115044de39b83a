"""The players' side of the API over plain HTTP (urllib): JSON in and out, a bearer token,
Idempotency-Key on bets, and the payment provider's signed deposit webhook.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from ember.runtime.api import webhook

_TIMEOUT_S = 10


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def code(self) -> str:
        """The problem's stable code (`round_closed`, …), or the status for other failures."""
        if isinstance(self.body, dict) and isinstance(self.body.get("code"), str):
            return str(self.body["code"])
        return f"http_{self.status}"


class Api:
    """Calls to the API at `base_url`; a network failure is a Reply with status 0."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def call(self, method: str, path: str, *, token: str | None = None, body: Any = None,
             headers: dict[str, str] | None = None, raw: bytes | None = None) -> Reply:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        sent = {"Accept": "application/json", **(headers or {})}
        if data is not None:
            sent["Content-Type"] = "application/json"
        if token:
            sent["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.base_url + path, data=data, method=method,
                                         headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as answer:
                return Reply(answer.status, _json(answer.read()), dict(answer.headers.items()))
        except urllib.error.HTTPError as error:
            return Reply(error.code, _json(error.read()), dict(error.headers.items()))
        except OSError as error:
            return Reply(0, {"code": "network", "detail": str(error)}, {})

    def deposit(self, secret: str, payment_id: str, player_id: str, amount: int) -> Reply:
        """The payment provider's POST /v1/deposits, signed now."""
        raw = json.dumps({"payment_id": payment_id, "player_id": player_id,
                          "amount": amount}).encode()
        signature = webhook.sign(secret, int(time.time()), raw)
        return self.call("POST", "/v1/deposits", raw=raw, headers={webhook.HEADER: signature})


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")
