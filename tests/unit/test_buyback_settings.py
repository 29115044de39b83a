from datetime import timedelta

import pytest

from ember.runtime.settings import SettingsError, load_settings

DB = "postgresql://postgres@127.0.0.1/ember"


def test_the_defaults_make_a_valid_policy_with_buybacks_running():
    settings = load_settings(DATABASE_URL=DB)
    policy = settings.buyback_policy
    assert policy.tranche_interval <= policy.max_delay
    assert not settings.buybacks_halted and not settings.buyback_dry_run
    assert 0 <= settings.burn_share_bps <= 10_000


def test_the_policy_is_read_from_the_environment(monkeypatch):
    for name, value in {"EMBER_BUYBACK_THRESHOLD": "5000000", "EMBER_BUYBACK_MAX_DELAY_S": "600",
                        "EMBER_BUYBACK_PER_BUY_CAP": "7000000", "EMBER_BUYBACK_DAILY_CAP": "9000000",
                        "EMBER_BUYBACK_TRANCHE_SIZE": "3000000",
                        "EMBER_BUYBACK_TRANCHE_INTERVAL_S": "60",
                        "EMBER_BUYBACK_MAX_SLIPPAGE_BPS": "50",
                        "EMBER_BUYBACK_MAX_POOL_DEVIATION_BPS": "150",
                        "EMBER_BURN_SHARE_BPS": "7500", "EMBER_BUYBACKS_HALTED": "true",
                        "EMBER_BUYBACK_DRY_RUN": "1"}.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(DATABASE_URL=DB)
    policy = settings.buyback_policy
    assert (policy.threshold, policy.per_buy_cap, policy.daily_cap, policy.tranche_size) == (
        5_000_000, 7_000_000, 9_000_000, 3_000_000)
    assert policy.max_delay == timedelta(minutes=10)
    assert policy.tranche_interval == timedelta(minutes=1)
    assert (policy.max_slippage_bps, policy.max_pool_deviation_bps) == (50, 150)
    assert settings.burn_share_bps == 7500
    assert settings.buybacks_halted and settings.buyback_dry_run


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("EMBER_BUYBACK_MAX_SLIPPAGE_BPS", "1500", "EMBER_BUYBACK_MAX_SLIPPAGE_BPS: must be an integer"),
    ("EMBER_BUYBACK_MAX_POOL_DEVIATION_BPS", "-1", "EMBER_BUYBACK_MAX_POOL_DEVIATION_BPS"),
    ("EMBER_BUYBACK_THRESHOLD", "0", "EMBER_BUYBACK_THRESHOLD"),
    ("EMBER_BUYBACK_DAILY_CAP", "lots", "EMBER_BUYBACK_DAILY_CAP"),
    ("EMBER_BUYBACK_TRANCHE_SIZE", str(10**16), "EMBER_BUYBACK_TRANCHE_SIZE: must be an integer"),
    ("EMBER_BUYBACK_TRANCHE_INTERVAL_S", "7200",
     "EMBER_BUYBACK_TRANCHE_INTERVAL_S: must not be longer than EMBER_BUYBACK_MAX_DELAY_S"),
    ("EMBER_BURN_SHARE_BPS", "10001", "EMBER_BURN_SHARE_BPS"),
    ("EMBER_BUYBACKS_HALTED", "perhaps", "EMBER_BUYBACKS_HALTED"),
])
def test_a_bad_buyback_value_names_its_variable(monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match="invalid setting " + message):
        load_settings(DATABASE_URL=DB)
