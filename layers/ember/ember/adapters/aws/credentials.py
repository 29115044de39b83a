"""Credentials the deployment passes by reference: secrets in Secrets Manager, RDS IAM tokens.

    password = read_secret(arn, variable="EMBER_REDIS_AUTH_SECRET_ID", region="eu-west-1")
    auth = RdsIamAuth.from_url(database_url, region="eu-west-1")
    auth()  # {"password": <a fresh 15-minute token>, "sslmode": "require"}: one connection's

boto3 is imported only when one of these is used, so a process configured without them
(the API locally, every test run) never loads it. No value read here reaches a log line,
an exception message or a repr.
"""

from __future__ import annotations

from typing import Any

# sslmode values that already verify at least as much as `require`: kept as the URL sets them.
_STRICT_SSLMODES = ("require", "verify-ca", "verify-full")


class CredentialsError(RuntimeError):
    """A secret or token could not be had; the message names the variable, never a value."""


def read_secret(secret_id: str, *, variable: str, region: str, client: Any = None) -> str:
    """The SecretString of `secret_id`, stripped; CredentialsError names `variable`."""
    if client is None:
        import boto3

        client = boto3.client("secretsmanager", region_name=region)
    try:
        value = client.get_secret_value(SecretId=secret_id).get("SecretString")
    except Exception as error:  # the message names the secret and the error, never a value
        code = getattr(error, "response", {}).get("Error", {}).get("Code") or type(error).__name__
        raise CredentialsError(f"{variable}: cannot read secret {secret_id} ({code})") from None
    if not isinstance(value, str) or not value.strip():
        raise CredentialsError(f"{variable}: secret {secret_id} holds no SecretString")
    return value.strip()


class RdsIamAuth:
    """The pool's per-connection kwargs for EMBER_DATABASE_AUTH=iam.

    Each call generates a new RDS IAM auth token (signed locally with the process's AWS
    credentials, valid 15 minutes) for the URL's host, port and user: every new connection
    authenticates with a token of its own, so a pool outliving a token never reuses it.
    """

    def __init__(self, host: str, port: int, user: str, *, region: str, sslmode: str = "require",
                 client: Any = None) -> None:
        if client is None:
            import boto3

            # Made here, once, in the thread that builds the pool: the pool's workers only
            # sign with it (boto3 clients are thread-safe; creating them is not).
            client = boto3.client("rds", region_name=region)
        self.host, self.port, self.user, self.region = host, port, user, region
        self.sslmode = sslmode if sslmode in _STRICT_SSLMODES else "require"
        self._client = client

    @classmethod
    def from_url(cls, url: str, *, region: str, client: Any = None) -> RdsIamAuth:
        """For a postgresql:// URL with a user and a host (and no password)."""
        from psycopg.conninfo import conninfo_to_dict

        params = conninfo_to_dict(url)
        host, user = str(params.get("host") or ""), str(params.get("user") or "")
        if not host or not user:
            raise CredentialsError("DATABASE_URL: IAM auth needs a user and a host")
        return cls(host, int(params.get("port") or 5432), user, region=region,
                   sslmode=str(params.get("sslmode") or "require"), client=client)

    def token(self) -> str:
        """A new RDS IAM auth token for this user at this host."""
        return str(self._client.generate_db_auth_token(
            DBHostname=self.host, Port=self.port, DBUsername=self.user, Region=self.region))

    def __call__(self) -> dict[str, Any]:
        return {"password": self.token(), "sslmode": self.sslmode}

    def url(self, database: str) -> str:
        """A postgresql:// URL to `database` with a fresh token as its password (quoted),
        for tools that only take a URL (yoyo's migrations)."""
        from urllib.parse import quote

        host = f"[{self.host}]" if ":" in self.host else self.host
        return (f"postgresql://{quote(self.user, safe='')}:{quote(self.token(), safe='')}"
                f"@{host}:{self.port}/{quote(database, safe='')}?sslmode={self.sslmode}")

    def __repr__(self) -> str:
        return f"RdsIamAuth(user={self.user!r}, host={self.host!r}, port={self.port})"
