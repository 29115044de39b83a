from pathlib import Path

import pytest

from ember.domain.errors import InvalidMarket
from ember.runtime.settings import SettingsError, load_settings
from ember.services.markets_config import load_markets

ROOT = Path(__file__).resolve().parents[2]


def test_missing_database_url_names_the_variable(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(SettingsError, match="DATABASE_URL: is required"):
        load_settings()


def test_bad_values_name_their_variable(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://x")
    monkeypatch.setenv("EMBER_DB_POOL_SIZE", "lots")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "DATABASE_URL: must be a postgresql:// URL" in str(caught.value)
    assert "EMBER_DB_POOL_SIZE" in str(caught.value)


def test_the_repo_markets_file_is_valid():
    markets = load_markets(ROOT / "config" / "markets.toml")
    assert {m.id for m in markets} >= {"coin-flip-1m"}
    assert all(m.commission_bps <= 1000 for m in markets)


def test_commission_over_the_cap_in_the_file_is_refused(tmp_path):
    path = tmp_path / "markets.toml"
    path.write_text('[[market]]\nid = "x1"\ntitle = "x"\noutcomes = ["a", "b"]\ninterval_s = 60\n'
                    'bet_window_s = 30\ncommission_bps = 1500\nmin_bet = 1\nmax_bet = 2\n')
    with pytest.raises(InvalidMarket, match="commission_bps"):
        load_markets(path)


def test_unknown_keys_in_the_file_are_refused(tmp_path):
    path = tmp_path / "markets.toml"
    path.write_text('[[market]]\nid = "x1"\ncomission_bps = 100\n')
    with pytest.raises(InvalidMarket, match="unknown keys"):
        load_markets(path)
