"""Credentials passed by reference (moto for Secrets Manager): a fresh RDS IAM token for each
new database connection, the Redis AUTH token and the exchange's keys from Secrets Manager,
and the settings that refuse a value set twice."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import boto3
import botocore.auth
import pytest
from moto import mock_aws
from psycopg.rows import dict_row

from ember.adapters.aws.credentials import CredentialsError, RdsIamAuth, read_secret
from ember.runtime.api.context import rate_limiter
from ember.runtime.bootstrap import build, database
from ember.runtime.settings import SettingsError, load_settings
from tests.conftest import ROOT

pytestmark = pytest.mark.integration

REGION = "eu-west-1"
PROXY = "ember-prod.proxy-abc123.eu-west-1.rds.amazonaws.com"
IAM_URL = f"postgresql://ember@{PROXY}:5432/ember?sslmode=require"
REDIS_TLS_URL = "rediss://master.ember-prod.abc123.euw1.cache.amazonaws.com:6379/0"
REDIS_TOKEN = "redis-auth-token-0123456789abcdef"
CEX_KEY, CEX_SECRET = "k" * 64, "s" * 64
WALLET = "0x" + "ab" * 20


@pytest.fixture
def aws(monkeypatch):
    """moto's AWS, with fake credentials (the RDS token is signed with them, locally)."""
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", REGION)):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=REGION)


def put_secret(secrets, name: str, value: str) -> str:
    return secrets.create_secret(Name=name, SecretString=value)["ARN"]


@pytest.fixture
def ticking_clock(monkeypatch):
    """Each signature a second after the one before: tokens generated in the same second
    would be equal even when generated afresh."""
    now = botocore.auth.get_current_datetime()
    calls = iter(range(1_000))
    monkeypatch.setattr(botocore.auth, "get_current_datetime",
                        lambda: now + timedelta(seconds=next(calls)))


# -- RDS IAM auth -------------------------------------------------------------------------


def test_iam_auth_gives_each_new_connection_a_fresh_token_and_tls(aws, ticking_clock):
    settings = load_settings(DATABASE_URL=IAM_URL, EMBER_DATABASE_AUTH="iam", AWS_REGION=REGION)
    db = database(settings, open=False)  # nothing to connect to: the pool's provider is the subject
    try:
        assert callable(db.pool.kwargs)
        first, second = db.pool.kwargs(), db.pool.kwargs()
    finally:
        db.close()
    for kwargs in (first, second):
        assert kwargs["sslmode"] == "require"
        assert kwargs["row_factory"] is dict_row and kwargs["autocommit"] is False
        token = kwargs["password"]
        assert token.startswith(f"{PROXY}:5432/?")
        assert "Action=connect" in token and "DBUser=ember" in token
        assert f"%2F{REGION}%2Frds-db%2Faws4_request" in token and "X-Amz-Signature=" in token
        assert "X-Amz-Expires=900" in token  # valid 15 minutes
    assert first["password"] != second["password"]
    assert first["password"] not in repr(db.pool) and "password" not in db.url


def test_the_token_is_generated_per_call_for_the_urls_host_port_and_user():
    calls: list[dict] = []

    class Rds:
        def generate_db_auth_token(self, **kwargs: object) -> str:
            calls.append(kwargs)
            return f"token-{len(calls)}"

    auth = RdsIamAuth.from_url("postgresql://app@db.internal:6432/ember?sslmode=verify-full",
                               region=REGION, client=Rds())
    assert [auth(), auth()] == [{"password": "token-1", "sslmode": "verify-full"},
                                {"password": "token-2", "sslmode": "verify-full"}]
    assert calls == [{"DBHostname": "db.internal", "Port": 6432, "DBUsername": "app",
                      "Region": REGION}] * 2
    assert "token" not in repr(auth)
    with pytest.raises(CredentialsError, match="DATABASE_URL"):
        RdsIamAuth.from_url("postgresql:///ember", region=REGION, client=Rds())


def test_password_auth_keeps_todays_pool_against_a_real_postgresql(database_url):
    app = build(load_settings(DATABASE_URL=database_url))
    try:
        assert app.settings.database_auth == "password"
        assert app.db.pool.kwargs == {"row_factory": dict_row, "autocommit": False}
        assert app.db.run(lambda conn: conn.execute("SELECT 1 AS one").fetchone()) == {"one": 1}
    finally:
        app.close()


def test_the_pool_asks_the_provider_again_for_each_new_connection(database_url):
    from ember.adapters.postgres.database import Database

    names = iter(f"ember-conn-{i}" for i in range(100))
    db = Database(database_url, min_size=2, max_size=2,
                  connect_kwargs=lambda: {"application_name": next(names)})
    try:
        db.pool.wait(timeout=10)
        with db.pool.connection() as one, db.pool.connection() as two:
            seen = {conn.execute("SHOW application_name").fetchone()["application_name"]
                    for conn in (one, two)}
            assert one.execute("SELECT 1 AS x").fetchone() == {"x": 1}  # dict_row still set
    finally:
        db.close()
    assert seen == {"ember-conn-0", "ember-conn-1"}


def test_migrations_connect_with_a_fresh_token_in_the_url(aws, ticking_clock):
    """yoyo takes only a URL: the token (full of '&', '=' and '%') goes in it quoted and
    comes back out exactly, with TLS required."""
    from yoyo.connections import parse_uri

    from ember.runtime.bootstrap import database_url_for_tools

    settings = load_settings(DATABASE_URL=IAM_URL, EMBER_DATABASE_AUTH="iam", AWS_REGION=REGION)
    first, second = database_url_for_tools(settings), database_url_for_tools(settings)
    parsed = parse_uri(first)
    assert (parsed.username, parsed.hostname, parsed.port, parsed.database) == (
        "ember", PROXY, 5432, "ember")
    assert parsed.args == {"sslmode": "require"}
    assert parsed.password.startswith(f"{PROXY}:5432/?") and "X-Amz-Signature=" in parsed.password
    assert parse_uri(second).password != parsed.password  # a new token each time
    assert database_url_for_tools(load_settings(DATABASE_URL="postgresql://u:p@h/db")) == (
        "postgresql://u:p@h/db")  # password auth: the URL as given


# -- Redis AUTH token ---------------------------------------------------------------------


def test_the_redis_auth_token_is_read_once_and_is_the_rate_limiters_password(aws, database_url):
    arn = put_secret(aws, "ember/redis-auth", REDIS_TOKEN + "\n")
    app = build(load_settings(DATABASE_URL=database_url, REDIS_URL=REDIS_TLS_URL,
                              EMBER_REDIS_AUTH_SECRET_ID=arn, AWS_REGION=REGION))
    try:
        limiter = rate_limiter(app)
        assert limiter.limiter is not None
        client = limiter.limiter.storage.storage  # the redis.Redis the limiter talks to
        pool = client.connection_pool
        assert pool.connection_kwargs["password"] == REDIS_TOKEN
        assert pool.connection_class.__name__ == "SSLConnection"  # rediss://: TLS
        assert REDIS_TOKEN not in repr(app.redis_password) and REDIS_TOKEN not in str(app.settings)
        aws.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
        again = rate_limiter(app).limiter.storage.storage  # read once: the secret is gone
        assert again.connection_pool.connection_kwargs["password"] == REDIS_TOKEN
    finally:
        app.close()


def test_without_the_secret_the_limiter_has_no_password(database_url, stack):
    app = build(load_settings(DATABASE_URL=database_url, REDIS_URL=stack.redis_url))
    try:
        assert app.redis_password is None
        pool = rate_limiter(app).limiter.storage.storage.connection_pool
        assert pool.connection_kwargs.get("password") is None
    finally:
        app.close()


def test_an_unreadable_secret_names_the_variable_and_no_value(aws):
    with pytest.raises(CredentialsError, match="EMBER_REDIS_AUTH_SECRET_ID: cannot read secret"
                       " ember/missing \\(ResourceNotFoundException\\)"):
        read_secret("ember/missing", variable="EMBER_REDIS_AUTH_SECRET_ID", region=REGION)
    arn = put_secret(aws, "ember/blank", "   ")
    with pytest.raises(CredentialsError, match="holds no SecretString"):
        read_secret(arn, variable="EMBER_REDIS_AUTH_SECRET_ID", region=REGION, client=aws)


# -- Exchange credentials -----------------------------------------------------------------


def cex_settings(database_url: str, **extra: str):
    return load_settings(DATABASE_URL=database_url, CHAIN_RPC_URL="http://127.0.0.1:1",
                         EMBER_CEX_EXCHANGE="binance", EMBER_CEX_WITHDRAW_ADDRESS=WALLET,
                         AWS_REGION=REGION, **extra)


def test_the_exchange_keys_come_from_secrets_manager(aws, database_url):
    from ember.runtime.chain_wiring import ChainWiring

    key_arn = put_secret(aws, "ember/exchange/api-key", CEX_KEY)
    secret_arn = put_secret(aws, "ember/exchange/api-secret", CEX_SECRET)
    settings = cex_settings(database_url, EMBER_CEX_API_KEY_SECRET_ID=key_arn,
                            EMBER_CEX_API_SECRET_SECRET_ID=secret_arn)
    app = build(settings)
    try:
        chain = ChainWiring(settings, app.db)  # boto3's default session, under moto
        assert chain.cex_credentials() == (CEX_KEY, CEX_SECRET)
        venue = chain.cex_venue
        assert venue is not None
        exchange = venue.exchange
        assert (exchange.apiKey, exchange.secret) == (CEX_KEY, CEX_SECRET)
        session = ChainWiring(settings, app.db, aws=boto3.Session(region_name=REGION))
        assert session.cex_credentials() == (CEX_KEY, CEX_SECRET)
    finally:
        app.close()


def test_plain_exchange_keys_still_work(database_url):
    from ember.runtime.chain_wiring import ChainWiring

    settings = cex_settings(database_url, EMBER_CEX_API_KEY=CEX_KEY, EMBER_CEX_API_SECRET=CEX_SECRET)
    app = build(settings)
    try:
        assert ChainWiring(settings, app.db).cex_credentials() == (CEX_KEY, CEX_SECRET)
    finally:
        app.close()


# -- Settings validated at start ----------------------------------------------------------


@pytest.mark.parametrize(("env", "message"), [
    ({"EMBER_DATABASE_AUTH": "iam", "DATABASE_URL": "postgresql:///ember"},
     "DATABASE_URL: must name a user and a host when EMBER_DATABASE_AUTH=iam"),
    ({"EMBER_DATABASE_AUTH": "iam", "DATABASE_URL": f"postgresql://{PROXY}/ember"},
     "DATABASE_URL: must name a user and a host"),
    ({"EMBER_DATABASE_AUTH": "iam", "DATABASE_URL": f"postgresql://ember:pw@{PROXY}/ember"},
     "DATABASE_URL and EMBER_DATABASE_AUTH=iam"),
    ({"EMBER_DATABASE_AUTH": "iam", "DATABASE_URL": f"postgresql://ember@{PROXY}/e?sslmode=prefer"},
     "DATABASE_URL: sslmode must be require"),
    ({"EMBER_DATABASE_AUTH": "kerberos"}, "EMBER_DATABASE_AUTH"),
    ({"EMBER_REDIS_AUTH_SECRET_ID": "arn:secret", "REDIS_URL": ""},
     "REDIS_URL: is required when EMBER_REDIS_AUTH_SECRET_ID is set"),
    ({"EMBER_REDIS_AUTH_SECRET_ID": "arn:secret", "REDIS_URL": "redis://cache:6379/0"},
     "REDIS_URL: must be a rediss://"),
    ({"EMBER_REDIS_AUTH_SECRET_ID": "arn:secret", "REDIS_URL": "rediss://:pw@cache:6379/0"},
     "REDIS_URL and EMBER_REDIS_AUTH_SECRET_ID"),
    ({"EMBER_CEX_API_KEY": CEX_KEY, "EMBER_CEX_API_KEY_SECRET_ID": "arn:key"},
     "EMBER_CEX_API_KEY and EMBER_CEX_API_KEY_SECRET_ID: set one, not both"),
    ({"EMBER_CEX_API_SECRET": CEX_SECRET, "EMBER_CEX_API_SECRET_SECRET_ID": "arn:secret"},
     "EMBER_CEX_API_SECRET and EMBER_CEX_API_SECRET_SECRET_ID: set one, not both"),
    ({"EMBER_CEX_EXCHANGE": "binance", "EMBER_CEX_API_KEY_SECRET_ID": "arn:key",
      "EMBER_CEX_WITHDRAW_ADDRESS": WALLET},
     "EMBER_CEX_API_SECRET: is required \\(or EMBER_CEX_API_SECRET_SECRET_ID\\)"),
])
def test_bad_credential_settings_stop_the_process_naming_the_variables(env, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(**{"DATABASE_URL": "postgresql://ember@db/ember", **env})


def test_good_credential_settings_load():
    settings = load_settings(DATABASE_URL=IAM_URL, EMBER_DATABASE_AUTH="iam", REDIS_URL=REDIS_TLS_URL,
                             EMBER_REDIS_AUTH_SECRET_ID="arn:redis", EMBER_CEX_EXCHANGE="binance",
                             EMBER_CEX_API_KEY_SECRET_ID="arn:key",
                             EMBER_CEX_API_SECRET_SECRET_ID="arn:secret",
                             EMBER_CEX_WITHDRAW_ADDRESS=WALLET)
    assert (settings.database_auth, settings.redis_auth_secret_id) == ("iam", "arn:redis")
    assert settings.cex_api_key is None and settings.cex_api_key_secret_id == "arn:key"


def test_without_these_settings_boto3_is_never_imported(database_url):
    script = ("import sys; from ember.runtime.api.context import api_context, rate_limiter;"
              " from ember.runtime.bootstrap import build; from ember.runtime.settings import"
              " load_settings; app = build(load_settings(DATABASE_URL=sys.argv[1]));"
              " rate_limiter(app); app.close(); print('boto3' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script, database_url], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "False"
