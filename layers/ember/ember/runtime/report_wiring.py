"""The burn report's collaborators, wired from the settings: where reports are kept, the
ledger's and the chain's reads, and the renderers.

    written = publish_report(app, period)          # the scheduled function and `ember report`
    storage = report_storage(app.settings)         # the API: no web3 is imported for it

boto3 loads only when a bucket is configured, web3 only when the chain is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ember.adapters.postgres.report_reads import PostgresReportReads
from ember.adapters.reports.storage import LocalReportStorage, ReportStorage, S3ReportStorage
from ember.domain.burn_report import Period
from ember.services.burn_report import ChainReads, WrittenReport, publish_burn_report

from .bootstrap import Ember
from .settings import Settings, SettingsError

if TYPE_CHECKING:
    from ember.adapters.chain.report_reads import ChainReportReads

_RPC_TIMEOUT_S = 30


def report_storage(settings: Settings, *, s3: Any = None) -> ReportStorage:
    """S3 when EMBER_REPORTS_BUCKET is set, else the directory EMBER_REPORTS_DIR."""
    if settings.reports_bucket:
        if s3 is None:
            import boto3  # only where reports are read or written

            s3 = boto3.client("s3", region_name=settings.aws_region)
        return S3ReportStorage(s3, settings.reports_bucket, kms_key_id=settings.reports_kms_key_id)
    if settings.reports_dir is not None:
        return LocalReportStorage(settings.reports_dir)
    raise SettingsError("invalid setting EMBER_REPORTS_BUCKET: is required for burn reports"
                        " (or EMBER_REPORTS_DIR for runs without AWS)")


def chain_report_reads(settings: Settings) -> ChainReportReads:
    """Supply, blocks and events of the deployment in EMBER_DEPLOYMENT_FILE on CHAIN_RPC_URL,
    the technical wallet's burns told from other holders' by `report_wallet`."""
    if not settings.chain_rpc_url:
        raise SettingsError("invalid setting CHAIN_RPC_URL: is required for burn reports")
    from web3 import Web3

    from ember.adapters.chain.deployment import Deployment
    from ember.adapters.chain.report_reads import ChainReportReads

    deployment = Deployment.load(settings.deployment_file)
    w3 = Web3(Web3.HTTPProvider(settings.chain_rpc_url, request_kwargs={"timeout": _RPC_TIMEOUT_S}))
    return ChainReportReads.from_deployment(w3, deployment,
                                            wallet=report_wallet(settings, deployment.wallet))


def report_wallet(settings: Settings, deployed_wallet: str) -> str:
    """The technical wallet whose burns the ledger records: the signer's address.

    The deployment file records it (`ember chain deploy` takes it from the signer, and deploys
    anew when the signer's address changes), so the report reads it there and needs no key:
    the report function may not read the wallet's secret or use its KMS key. When the key is
    in the environment (EMBER_WALLET_SIGNER=env, local runs) the two must agree, else the
    wallet's burns would be told apart by the wrong address.
    """
    if settings.wallet_signer == "env" and settings.wallet_private_key is not None:
        from eth_account import Account

        signer = str(Account.from_key(settings.wallet_private_key.get_secret_value()).address)
        if signer.lower() != deployed_wallet.lower():
            raise SettingsError(
                f"invalid setting EMBER_WALLET_PRIVATE_KEY: its address {signer} is not the"
                f" technical wallet {deployed_wallet} of EMBER_DEPLOYMENT_FILE"
                f" {settings.deployment_file}")
    return deployed_wallet


def publish_report(app: Ember, period: Period, *, storage: ReportStorage | None = None,
                   chain: ChainReads | None = None) -> WrittenReport:
    """The report of `period`, built, rendered in every format and stored."""
    from ember.adapters.reports.document import report_document
    from ember.adapters.reports.renderers import render_all

    return publish_burn_report(
        period, ledger=PostgresReportReads(app.db),
        chain=chain if chain is not None else chain_report_reads(app.settings),
        to_document=report_document, render=render_all,
        storage=storage if storage is not None else report_storage(app.settings), clock=app.clock)
