"""The buy-back kill switch as an SSM parameter (moto for the AWS API): `off` lets buys run,
anything else halts them, and a parameter that cannot be read halts them too."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from ember.adapters.aws.ssm_switch import SsmSwitch
from ember.services.buy_back import KillSwitch

PARAMETER = "/ember/test/buybacks-kill-switch"


class _Off:
    def halted(self) -> str | None:
        return None


@pytest.fixture
def ssm(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("ssm", region_name="us-east-1")


def test_off_lets_buybacks_run_and_anything_else_halts_them(ssm):
    switch = SsmSwitch(ssm, PARAMETER)
    ssm.put_parameter(Name=PARAMETER, Value="off", Type="String")
    assert switch.halted() is None
    ssm.put_parameter(Name=PARAMETER, Value="halted: pool under review", Type="String", Overwrite=True)
    assert switch.halted() == f"{PARAMETER}: halted: pool under review"


def test_a_parameter_that_cannot_be_read_halts(ssm):
    assert "unreadable" in SsmSwitch(ssm, PARAMETER).halted()


def test_the_switch_is_read_at_every_check_so_a_flip_takes_effect_within_a_run(ssm):
    ssm.put_parameter(Name=PARAMETER, Value="off", Type="String")
    controls = KillSwitch(False, _Off(), SsmSwitch(ssm, PARAMETER))
    assert controls.halted() is None
    ssm.put_parameter(Name=PARAMETER, Value="on", Type="String", Overwrite=True)
    assert controls.halted() == f"{PARAMETER}: on"
    assert KillSwitch(True, _Off()).halted() == "EMBER_BUYBACKS_HALTED"
