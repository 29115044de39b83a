"""kafka-python client settings for both worlds: MSK (IAM auth over TLS) and local PLAINTEXT."""

from __future__ import annotations

from typing import Any


class MskIamTokenProvider:
    """SASL/OAUTHBEARER tokens signed with the caller's IAM identity (MSK IAM auth)."""

    def __init__(self, region: str) -> None:
        self.region = region

    def token(self) -> str:
        from aws_msk_iam_sasl_signer import MSKAuthTokenProvider

        token, _expiry_ms = MSKAuthTokenProvider.generate_auth_token(self.region)
        return token


def client_config(bootstrap_servers: str, security: str = "plaintext",
                  region: str = "us-east-1") -> dict[str, Any]:
    """Keyword arguments shared by every kafka-python producer, consumer and admin client."""
    config: dict[str, Any] = {"bootstrap_servers": bootstrap_servers.split(","),
                              "client_id": "ember"}
    if security == "msk_iam":
        config.update(security_protocol="SASL_SSL", sasl_mechanism="OAUTHBEARER",
                      sasl_oauth_token_provider=MskIamTokenProvider(region))
    elif security != "plaintext":
        raise ValueError(f"unknown Kafka security {security!r}")
    return config
