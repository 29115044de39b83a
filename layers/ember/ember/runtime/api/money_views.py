"""Money in and the back office: the payment webhook, operators' and finance routes."""

from __future__ import annotations

from typing import Any

from chalice import Chalice

from ember.adapters.auth import Principal
from ember.domain.errors import EmberError, InvalidRequest, WithdrawalNotFound
from ember.services.cashier import credit_deposit, finish_withdrawal

from . import context, webhook
from .endpoint import endpoint
from .json import parse_object
from .player_views import only, withdrawal_view
from .public_views import parse_id


class WebhookNotConfigured(EmberError):
    code = "webhook_not_configured"
    status = 503


def register(app: Chalice) -> None:
    @endpoint(app, "/v1/deposits", "POST", status=201)
    def deposit_webhook() -> Any:
        """The payment provider's notice of a payment: signed, fresh, once per payment id."""
        ctx = context.current()
        if not ctx.webhook_secret:
            raise WebhookNotConfigured("EMBER_WEBHOOK_SECRET is not set")
        request = app.current_request
        raw = request.raw_body or b""
        webhook.verify(ctx.webhook_secret, request.headers.get(webhook.HEADER.lower()), raw,
                       ctx.ember.clock.now())
        fields = only(parse_object(raw, request.headers.get("content-type")),
                      {"payment_id", "player_id", "amount"})
        deposit = credit_deposit(text(fields, "payment_id"), text(fields, "player_id"),
                                 fields.get("amount"), ledger=ctx.ember.ledger,
                                 clock=ctx.ember.clock)
        body = {"payment_id": deposit.external_id, "player_id": deposit.player_id,
                "amount": deposit.amount, "credited": not deposit.replayed}
        return body, 200 if deposit.replayed else 201, {}

    @endpoint(app, "/v1/operator/withdrawals/{withdrawal_id}/paid", "POST", role="operator")
    def withdrawal_paid(principal: Principal, withdrawal_id: str) -> dict[str, Any]:
        return finish(withdrawal_id, paid=True)

    @endpoint(app, "/v1/operator/withdrawals/{withdrawal_id}/cancelled", "POST", role="operator")
    def withdrawal_cancelled(principal: Principal, withdrawal_id: str) -> dict[str, Any]:
        return finish(withdrawal_id, paid=False)

    @endpoint(app, "/v1/finance/ledger", "GET", role="finance")
    def ledger_summary(principal: Principal) -> dict[str, Any]:
        rows = context.current().reads.ledger_summary()
        return {"accounts": rows, "total": sum(r["balance"] or 0 for r in rows)}


def text(fields: dict[str, Any], name: str) -> str:
    """A body field as text; InvalidRequest when it holds what no database column can
    (NUL, lone surrogates) or any other control character."""
    value = str(fields.get(name) or "")
    if not value.isprintable():
        raise InvalidRequest(f"{name} must be printable text", field=name)
    return value


def finish(withdrawal_id: str, *, paid: bool) -> dict[str, Any]:
    """The withdrawal after an operator paid or cancelled it."""
    ember = context.current().ember
    return withdrawal_view(finish_withdrawal(parse_id(withdrawal_id, WithdrawalNotFound), paid=paid,
                                             ledger=ember.ledger, clock=ember.clock))
