"""The buy-back kill switch as an SSM parameter: operators flip it without a deploy.

Read before every buy and burn (one GetParameter call, a few ms). The parameter holds
`off` when buy-backs may run; anything else (`on`, `halted`, a reason) halts them. If the
parameter cannot be read the switch counts as on: with money at stake an unknown state
must stop the buy, not let it through.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

logger = Logger(service="ember", child=True)

RUNNING = "off"


class SsmSwitch:
    def __init__(self, ssm_client: Any, parameter: str) -> None:
        self.ssm = ssm_client
        self.parameter = parameter

    def halted(self) -> str | None:
        """Why buy-backs are halted by the parameter, or None when it says `off`."""
        try:
            value = self.ssm.get_parameter(Name=self.parameter)["Parameter"]["Value"].strip()
        except Exception as error:  # fail closed: any failure to read halts, and is logged
            logger.error("kill_switch_unreadable", extra={"parameter": self.parameter,
                                                          "error": type(error).__name__})
            return f"{self.parameter}: unreadable ({type(error).__name__})"
        if value.lower() == RUNNING:
            return None
        return f"{self.parameter}: {value}"
