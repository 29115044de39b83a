"""AWS for the demo: moto's server (S3, Secrets Manager, SSM) unless AWS_ENDPOINT_URL names one,
and the resources the demo uses there: the wallet's secret, the kill switch, the reports' bucket.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ember.runtime.local_stack import processes

WALLET_SECRET_ID = "ember/demo/wallet"
KILL_SWITCH_PARAMETER = "/ember/demo/buybacks-kill-switch"
REPORTS_BUCKET = "ember-demo-reports"
# moto accepts any credentials; these are set only for a moto server the demo started.
_MOTO_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@dataclass
class LocalAws:
    """Where the AWS APIs answer, and the variables that point boto3 there."""

    env: dict[str, str]
    source: str  # "env" or "embedded"
    _server: Any = field(default=None, repr=False)

    def stop(self) -> None:
        """Stops moto's server if the demo started it (its state goes with it)."""
        if self._server is not None:
            with contextlib.suppress(Exception):
                self._server.stop()
            self._server = None


def start_aws(environ: Mapping[str, str]) -> LocalAws:
    """AWS_ENDPOINT_URL as given, else moto's server on a free loopback port, started now."""
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    base = {"AWS_REGION": region, "AWS_DEFAULT_REGION": region}
    if environ.get("AWS_ENDPOINT_URL"):
        return LocalAws({**base, "AWS_ENDPOINT_URL": environ["AWS_ENDPOINT_URL"]}, "env")
    from moto.server import ThreadedMotoServer  # seconds to import: only when needed

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access line per AWS call
    port = processes.free_port()
    server = ThreadedMotoServer(ip_address=processes.LOOPBACK, port=port, verbose=False)
    server.start()
    env = {**base, "AWS_ENDPOINT_URL": f"http://{processes.LOOPBACK}:{port}"}
    for name, value in _MOTO_CREDENTIALS.items():
        env[name] = environ.get(name) or value
    return LocalAws(env, "embedded", server)


def provision(aws: LocalAws, wallet_key: str) -> None:
    """The wallet's key in Secrets Manager, the kill switch `off` in SSM, the reports' bucket."""
    import boto3

    session = boto3.Session(aws_access_key_id=aws.env.get("AWS_ACCESS_KEY_ID"),
                            aws_secret_access_key=aws.env.get("AWS_SECRET_ACCESS_KEY"),
                            region_name=aws.env["AWS_REGION"])
    endpoint = aws.env["AWS_ENDPOINT_URL"]
    secrets = session.client("secretsmanager", endpoint_url=endpoint)
    try:
        secrets.put_secret_value(SecretId=WALLET_SECRET_ID, SecretString=wallet_key)
    except secrets.exceptions.ResourceNotFoundException:
        secrets.create_secret(Name=WALLET_SECRET_ID, SecretString=wallet_key)
    session.client("ssm", endpoint_url=endpoint).put_parameter(
        Name=KILL_SWITCH_PARAMETER, Value="off", Type="String", Overwrite=True)
    s3 = session.client("s3", endpoint_url=endpoint)
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou,
                             s3.exceptions.BucketAlreadyExists):
        s3.create_bucket(Bucket=REPORTS_BUCKET)


def aws_settings() -> dict[str, str]:
    """The settings that make the functions use these resources."""
    return {"EMBER_WALLET_SIGNER": "secretsmanager", "EMBER_WALLET_SECRET_ID": WALLET_SECRET_ID,
            "EMBER_KILL_SWITCH_PARAMETER": KILL_SWITCH_PARAMETER,
            "EMBER_REPORTS_BUCKET": REPORTS_BUCKET}
