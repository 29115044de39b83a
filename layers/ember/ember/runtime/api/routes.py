"""Every route of the API, registered on a Chalice app."""

from __future__ import annotations

from chalice import Chalice

from . import money_views, player_views, public_views, report_views


def register(app: Chalice) -> None:
    public_views.register(app)
    player_views.register(app)
    money_views.register(app)
    report_views.register(app)
