"""Settings from the environment, read once and validated at start.

A bad value stops the process with the variable's name, e.g.
`invalid setting DATABASE_URL: must be a postgresql:// URL`.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ember.domain.buyback import BuybackPolicy


class SettingsError(RuntimeError):
    pass


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    database_url: str = Field(validation_alias="DATABASE_URL")
    # "password" (the password, if any, is in DATABASE_URL) or "iam": each new connection
    # authenticates with a fresh RDS IAM auth token (RDS Proxy with IAM auth; TLS).
    database_auth: Literal["password", "iam"] = Field(default="password",
                                                      validation_alias="EMBER_DATABASE_AUTH")
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    # The Redis AUTH token's secret in Secrets Manager (ElastiCache, rediss://), read once.
    redis_auth_secret_id: str | None = Field(default=None,
                                             validation_alias="EMBER_REDIS_AUTH_SECRET_ID")
    kafka_bootstrap_servers: str | None = Field(default=None,
                                                validation_alias="KAFKA_BOOTSTRAP_SERVERS")
    # "plaintext" locally; "msk_iam": TLS + SASL/OAUTHBEARER tokens from the MSK IAM signer.
    kafka_security: Literal["plaintext", "msk_iam"] = Field(default="plaintext",
                                                            validation_alias="EMBER_KAFKA_SECURITY")
    aws_region: str = Field(default="us-east-1", validation_alias="AWS_REGION")
    markets_file: Path = Field(default=Path("config/markets.toml"),
                               validation_alias="EMBER_MARKETS_FILE")
    db_pool_size: int = Field(default=10, ge=1, le=200, validation_alias="EMBER_DB_POOL_SIZE")
    rounds_ahead: int = Field(default=2, ge=0, le=100, validation_alias="EMBER_ROUNDS_AHEAD")
    log_level: str = Field(default="INFO", validation_alias="EMBER_LOG_LEVEL")
    # Players' API. "authorizer": API Gateway's Cognito authorizer verified the token (AWS);
    # "jwks": the app verifies RS256 tokens itself; "hs256": a shared secret, local use only.
    auth_mode: Literal["authorizer", "jwks", "hs256"] = Field(default="hs256",
                                                               validation_alias="EMBER_AUTH_MODE")
    jwt_issuer: str = Field(default="ember-local", validation_alias="EMBER_JWT_ISSUER")
    jwt_audience: str = Field(default="ember", validation_alias="EMBER_JWT_AUDIENCE")
    jwks_url: str | None = Field(default=None, validation_alias="EMBER_JWKS_URL")
    jwt_secret: SecretStr | None = Field(default=None, validation_alias="EMBER_JWT_SECRET")
    webhook_secret: SecretStr | None = Field(default=None, validation_alias="EMBER_WEBHOOK_SECRET")
    bet_rate_limit: str = Field(default="20/second", validation_alias="EMBER_BET_RATE_LIMIT")
    # Kafka consumers: deliveries of a failing record before it goes to the dead-letter topic.
    # Modules whose import registers consumers (comma-separated); `ember up` and
    # `ember consumers` run a local event source mapping for each registered consumer.
    consumer_modules: str = Field(default="", validation_alias="EMBER_CONSUMER_MODULES")
    consumer_max_attempts: int = Field(default=3, ge=1, le=100,
                                       validation_alias="EMBER_CONSUMER_MAX_ATTEMPTS")
    # The Lambda handler the Knative HTTP adapter hands CloudEvents to (KafkaSource records,
    # PingSource ticks) when the path names none: `functions/burn/app.py[:handler]` or a module.
    handler: str = Field(default="", validation_alias="EMBER_HANDLER")

    # Chain (web3). CHAIN_RPC_URL is the JSON-RPC node; `ember up` starts a Hardhat node
    # and sets it when the environment names none.
    chain_rpc_url: str | None = Field(default=None, validation_alias="CHAIN_RPC_URL")
    # Where `ember chain deploy` writes (and later reads) the contract addresses.
    deployment_file: Path = Field(default=Path(".ember/chain/deployment.json"),
                                  validation_alias="EMBER_DEPLOYMENT_FILE")
    # The technical wallet's key: "env" (EMBER_WALLET_PRIVATE_KEY, local runs only),
    # "secretsmanager" (the hex key in secret EMBER_WALLET_SECRET_ID) or "kms" (an AWS KMS
    # ECC_SECG_P256K1 key EMBER_WALLET_KMS_KEY_ID; the key never leaves KMS).
    wallet_signer: Literal["env", "secretsmanager", "kms"] = Field(
        default="env", validation_alias="EMBER_WALLET_SIGNER")
    wallet_private_key: SecretStr | None = Field(default=None,
                                                 validation_alias="EMBER_WALLET_PRIVATE_KEY")
    wallet_secret_id: str | None = Field(default=None, validation_alias="EMBER_WALLET_SECRET_ID")
    wallet_kms_key_id: str | None = Field(default=None, validation_alias="EMBER_WALLET_KMS_KEY_ID")
    # Blocks on top of a transaction's block before its receipt counts as final.
    chain_confirmations: int = Field(default=1, ge=0, le=200,
                                     validation_alias="EMBER_CHAIN_CONFIRMATIONS")
    # The public salt of each round's draw: "block-hash" (production: the hash of the first
    # block after lock_at, read from CHAIN_RPC_URL) or "local-beacon" (a random value fixed
    # after lock; for runs without a chain). Empty: block-hash when CHAIN_RPC_URL is set.
    salt_source: Literal["block-hash", "local-beacon", ""] = Field(
        default="", validation_alias="EMBER_SALT_SOURCE")

    # Buy-back and burn (domain.buyback.BuybackPolicy; amounts in stable minor units).
    buyback_threshold: int = Field(default=100_000_000, ge=1,
                                   validation_alias="EMBER_BUYBACK_THRESHOLD")
    buyback_max_delay_s: int = Field(default=3600, ge=1, validation_alias="EMBER_BUYBACK_MAX_DELAY_S")
    buyback_per_buy_cap: int = Field(default=1_000_000_000, ge=1,
                                     validation_alias="EMBER_BUYBACK_PER_BUY_CAP")
    buyback_daily_cap: int = Field(default=10_000_000_000, ge=1,
                                   validation_alias="EMBER_BUYBACK_DAILY_CAP")
    buyback_tranche_size: int = Field(default=500_000_000, ge=1,
                                      validation_alias="EMBER_BUYBACK_TRANCHE_SIZE")
    buyback_tranche_interval_s: int = Field(default=300, ge=1,
                                            validation_alias="EMBER_BUYBACK_TRANCHE_INTERVAL_S")
    buyback_max_slippage_bps: int = Field(default=100, validation_alias="EMBER_BUYBACK_MAX_SLIPPAGE_BPS")
    buyback_max_pool_deviation_bps: int = Field(
        default=200, validation_alias="EMBER_BUYBACK_MAX_POOL_DEVIATION_BPS")
    # The share of bought tokens burned; the rest goes to the dividend pool.
    burn_share_bps: int = Field(default=8000, ge=0, le=10000, validation_alias="EMBER_BURN_SHARE_BPS")
    # The kill switch as a setting (SSM on AWS); the operators' switch is in the database.
    buybacks_halted: bool = Field(default=False, validation_alias="EMBER_BUYBACKS_HALTED")
    # On AWS: an SSM parameter read before every buy and burn; anything but `off` halts.
    kill_switch_parameter: str | None = Field(default=None,
                                              validation_alias="EMBER_KILL_SWITCH_PARAMETER")
    # Plan and log each buy-back, write nothing and send nothing.
    buyback_dry_run: bool = Field(default=False, validation_alias="EMBER_BUYBACK_DRY_RUN")
    # The buy-back's reference price when no CEX is configured, never read from the DEX
    # pool: "stable_minor_units/token_wei [source]", e.g. "1/10000000000000 treasury"
    # (0.10 USDT per token).
    reference_price: str | None = Field(default=None, validation_alias="EMBER_REFERENCE_PRICE")
    # The CEX route (ccxt) and the reference price from its ticker; off unless
    # EMBER_CEX_EXCHANGE is set. EMBER_CEX_BASE_URL points the client at a stand-in.
    cex_exchange: Literal["binance"] | None = Field(default=None, validation_alias="EMBER_CEX_EXCHANGE")
    cex_api_key: str | None = Field(default=None, validation_alias="EMBER_CEX_API_KEY")
    cex_api_secret: SecretStr | None = Field(default=None, validation_alias="EMBER_CEX_API_SECRET")
    # On AWS the key and secret come from Secrets Manager instead: these name the secrets.
    cex_api_key_secret_id: str | None = Field(default=None,
                                              validation_alias="EMBER_CEX_API_KEY_SECRET_ID")
    cex_api_secret_secret_id: str | None = Field(default=None,
                                                 validation_alias="EMBER_CEX_API_SECRET_SECRET_ID")
    cex_base_url: str | None = Field(default=None, validation_alias="EMBER_CEX_BASE_URL")
    cex_symbol: str = Field(default="EMBR/USDT", validation_alias="EMBER_CEX_SYMBOL")
    # The technical wallet's address as whitelisted on the exchange (checked against the
    # wallet when the chain is wired).
    cex_withdraw_address: str | None = Field(default=None,
                                             validation_alias="EMBER_CEX_WITHDRAW_ADDRESS")
    # Finance burn reports: kept in S3 (EMBER_REPORTS_BUCKET; SSE-KMS with
    # EMBER_REPORTS_KMS_KEY_ID, else AES256) or, without AWS, under EMBER_REPORTS_DIR.
    reports_bucket: str | None = Field(default=None, validation_alias="EMBER_REPORTS_BUCKET")
    reports_kms_key_id: str | None = Field(default=None, validation_alias="EMBER_REPORTS_KMS_KEY_ID")
    reports_dir: Path | None = Field(default=None, validation_alias="EMBER_REPORTS_DIR")
    # The periods the scheduled report covers, comma separated: daily, weekly, monthly.
    report_periods: str = Field(default="weekly", validation_alias="EMBER_REPORT_PERIODS")
    # How long a presigned download link of GET /v1/finance/reports/{id} stays valid.
    report_link_ttl_s: int = Field(default=900, ge=1, le=604800,
                                   validation_alias="EMBER_REPORT_LINK_TTL_S")

    @field_validator("report_periods")
    @classmethod
    def _report_periods(cls, value: str) -> str:
        kinds = [kind.strip() for kind in value.split(",") if kind.strip()]
        if not kinds or any(kind not in ("daily", "weekly", "monthly") for kind in kinds):
            raise ValueError("must be a comma-separated list of daily, weekly, monthly")
        return ",".join(kinds)

    @field_validator("database_url")
    @classmethod
    def _postgres(cls, value: str) -> str:
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        return value

    @model_validator(mode="after")
    def _auth(self) -> Settings:
        if self.auth_mode == "jwks" and not self.jwks_url:
            raise ValueError("EMBER_JWKS_URL: is required when EMBER_AUTH_MODE=jwks")
        secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
        if self.auth_mode == "hs256" and secret and len(secret) < 32:
            raise ValueError("EMBER_JWT_SECRET: must be at least 32 characters")
        return self

    @model_validator(mode="after")
    def _wallet(self) -> Settings:
        needed = {"secretsmanager": ("wallet_secret_id", "EMBER_WALLET_SECRET_ID"),
                  "kms": ("wallet_kms_key_id", "EMBER_WALLET_KMS_KEY_ID")}.get(self.wallet_signer)
        if needed and not getattr(self, needed[0]):
            raise ValueError(f"{needed[1]}: is required when EMBER_WALLET_SIGNER={self.wallet_signer}")
        if self.salt_source == "block-hash" and not self.chain_rpc_url:
            raise ValueError("CHAIN_RPC_URL: is required when EMBER_SALT_SOURCE=block-hash")
        return self

    @model_validator(mode="after")
    def _buyback(self) -> Settings:
        try:
            self.buyback_policy  # noqa: B018 - validates the policy once, at start
        except ValueError as error:
            problems = str(error).removeprefix("BuybackPolicy: ").split("; ")
            raise ValueError("; ".join(_policy_variable(problem) for problem in problems)) from None
        return self

    @model_validator(mode="after")
    def _cex(self) -> Settings:
        if self.reference_price is not None:
            from fractions import Fraction

            try:
                price = Fraction(self.reference_price.strip().partition(" ")[0])
            except (ValueError, ZeroDivisionError):
                price = Fraction(0)
            if price <= 0:
                raise ValueError("EMBER_REFERENCE_PRICE: must be a positive fraction"
                                 " 'stable_minor_units/token_wei [source]'")
        if self.cex_exchange is None:
            return self
        for field, variable in (("cex_api_key", "EMBER_CEX_API_KEY"),
                                ("cex_api_secret", "EMBER_CEX_API_SECRET"),
                                ("cex_withdraw_address", "EMBER_CEX_WITHDRAW_ADDRESS")):
            if not getattr(self, field) and not getattr(self, f"{field}_secret_id", None):
                by_secret = f" (or {variable}_SECRET_ID)" if field != "cex_withdraw_address" else ""
                raise ValueError(f"{variable}: is required{by_secret} when EMBER_CEX_EXCHANGE is set")
        address = str(self.cex_withdraw_address)
        if len(address) != 42 or not address.startswith("0x") or not _is_hex(address[2:]):
            raise ValueError("EMBER_CEX_WITHDRAW_ADDRESS: must be a 0x-prefixed 20-byte address")
        if self.cex_symbol.count("/") != 1:
            raise ValueError("EMBER_CEX_SYMBOL: must look like 'EMBR/USDT'")
        return self

    @model_validator(mode="after")
    def _credentials(self) -> Settings:
        # A value and the secret holding it: which one counts would be a guess.
        for value, secret_id, variable in (
                (self.cex_api_key, self.cex_api_key_secret_id, "EMBER_CEX_API_KEY"),
                (self.cex_api_secret, self.cex_api_secret_secret_id, "EMBER_CEX_API_SECRET")):
            if value and secret_id:
                raise ValueError(f"{variable} and {variable}_SECRET_ID: set one, not both")
        if self.redis_auth_secret_id:
            from urllib.parse import urlsplit

            if not self.redis_url:
                raise ValueError("REDIS_URL: is required when EMBER_REDIS_AUTH_SECRET_ID is set")
            if not self.redis_url.startswith("rediss://"):
                raise ValueError("REDIS_URL: must be a rediss:// (TLS) URL when"
                                 " EMBER_REDIS_AUTH_SECRET_ID is set: the token must not travel in clear")
            if urlsplit(self.redis_url).password:
                raise ValueError("REDIS_URL and EMBER_REDIS_AUTH_SECRET_ID: both set a Redis"
                                 " password; set one, not both")
        if self.database_auth == "iam":
            from psycopg.conninfo import conninfo_to_dict

            try:
                params = conninfo_to_dict(self.database_url)
            except Exception:
                raise ValueError("DATABASE_URL: is not a valid PostgreSQL URL") from None
            if not params.get("user") or not params.get("host"):
                raise ValueError("DATABASE_URL: must name a user and a host when"
                                 " EMBER_DATABASE_AUTH=iam")
            if params.get("password"):
                raise ValueError("DATABASE_URL and EMBER_DATABASE_AUTH=iam: the URL has a password;"
                                 " with IAM auth each connection's password is an IAM token")
            if str(params.get("sslmode") or "require") not in ("require", "verify-ca", "verify-full"):
                raise ValueError("DATABASE_URL: sslmode must be require, verify-ca or verify-full"
                                 " when EMBER_DATABASE_AUTH=iam")
        return self

    @property
    def buyback_policy(self) -> BuybackPolicy:
        """The buy-back policy these settings describe."""
        return BuybackPolicy(
            threshold=self.buyback_threshold,
            max_delay=timedelta(seconds=self.buyback_max_delay_s),
            per_buy_cap=self.buyback_per_buy_cap, daily_cap=self.buyback_daily_cap,
            tranche_size=self.buyback_tranche_size,
            tranche_interval=timedelta(seconds=self.buyback_tranche_interval_s),
            max_slippage_bps=self.buyback_max_slippage_bps,
            max_pool_deviation_bps=self.buyback_max_pool_deviation_bps)

    @property
    def effective_salt_source(self) -> str:
        """The salt source in use: as set, else block-hash when a chain is configured."""
        return self.salt_source or ("block-hash" if self.chain_rpc_url else "local-beacon")

    @field_validator("bet_rate_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError("must look like '20/second' or '100 per minute'") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value.upper()


# BuybackPolicy's field names, as the variables that set them.
_POLICY_VARIABLES = {
    "threshold": "EMBER_BUYBACK_THRESHOLD", "max_delay": "EMBER_BUYBACK_MAX_DELAY_S",
    "per_buy_cap": "EMBER_BUYBACK_PER_BUY_CAP", "daily_cap": "EMBER_BUYBACK_DAILY_CAP",
    "tranche_size": "EMBER_BUYBACK_TRANCHE_SIZE",
    "tranche_interval": "EMBER_BUYBACK_TRANCHE_INTERVAL_S",
    "max_slippage_bps": "EMBER_BUYBACK_MAX_SLIPPAGE_BPS",
    "max_pool_deviation_bps": "EMBER_BUYBACK_MAX_POOL_DEVIATION_BPS"}


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)


def _policy_variable(problem: str) -> str:
    """A BuybackPolicy problem ("tranche_size must be ...") with its variable's name."""
    field, _, rest = problem.partition(" ")
    variable = _POLICY_VARIABLES.get(field)
    if not variable:
        return problem
    return f"{variable}: " + rest.replace("than max_delay", f"than {_POLICY_VARIABLES['max_delay']}")


def load_settings(**overrides: object) -> Settings:
    """The validated settings; SettingsError names each bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        problems = [_describe(e) for e in error.errors()]
        raise SettingsError("; ".join(problems)) from None


def _describe(problem: Any) -> str:
    if not problem["loc"]:  # a rule across variables: its message names them
        return "invalid setting " + problem["msg"].removeprefix("Value error, ")
    variable = str(problem["loc"][0])
    field = Settings.model_fields.get(variable)
    name = (field.validation_alias if field and field.validation_alias else variable)
    message = problem["msg"].removeprefix("Value error, ")
    if problem["type"] == "missing":
        message = "is required"
    return f"invalid setting {name}: {message}"
