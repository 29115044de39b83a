"""`ember chain deploy` and `ember chain status`: Ember's contracts on the configured chain.

The chain is CHAIN_RPC_URL, else the local stack's Hardhat node (started if need be). On a
dev chain (31337, 1337) Hardhat's funded account #0 deploys and account #1 is the technical
wallet, unless EMBER_DEPLOYER_PRIVATE_KEY / the wallet settings say otherwise:

    ember chain deploy            # deploys, or reuses a live deployment ("reusing")
    ember chain status            # addresses, block, token supply, pool reserves
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from ember.runtime import local_stack
from ember.runtime.cli_context import progress, redact, settings_for
from ember.runtime.settings import Settings, SettingsError

if TYPE_CHECKING:
    from web3 import Web3

    from ember.adapters.chain.deployment import Deployment

DEPLOYER_KEY_VAR = "EMBER_DEPLOYER_PRIVATE_KEY"


def register(group: click.Group, root_option: Callable[[Any], Any]) -> None:
    """Adds `chain deploy` and `chain status` to the `ember` command group."""

    @group.group()
    def chain() -> None:
        """Ember's contracts on the chain: deploy them, show where they are."""

    @chain.command()
    @root_option
    @click.option("--stable", metavar="ADDRESS",
                  help="An existing stable (6 decimals) instead of deploying TestStable;"
                       " required off dev chains. The deployer must hold enough of it.")
    @click.option("--wallet", metavar="ADDRESS",
                  help="The technical wallet's address, when its key is not in"
                       " EMBER_WALLET_PRIVATE_KEY (dev chains default to Hardhat's account #1).")
    def deploy(root: Path, stable: str | None, wallet: str | None) -> None:
        """Deploy the contracts and write EMBER_DEPLOYMENT_FILE, or reuse a live deployment."""
        from eth_account import Account

        from ember.adapters.chain.deploy import DeployPlan, ensure_deployed

        settings = chain_settings(root)
        w3 = connect(settings)
        chain_id = w3.eth.chain_id
        deployer = Account.from_key(_deployer_key(chain_id))
        deployment, reused = ensure_deployed(
            w3, settings.deployment_file, deployer=deployer,
            wallet=wallet or wallet_address(settings, chain_id),
            plan=DeployPlan(stable=stable), log=progress)
        click.echo(f"deployment chain_id={deployment.chain_id} block={deployment.block}"
                   f" reused={str(reused).lower()} file={settings.deployment_file}")
        for role, address in deployment.contracts.items():
            click.echo(f"contract role={role} address={address}")

    @chain.command()
    @root_option
    def status(root: Path) -> None:
        """A table of the deployment as the chain sees it; exits 1 when any code is missing."""
        from ember.adapters.chain.deployment import Deployment

        settings = chain_settings(root)
        w3 = connect(settings)
        try:
            deployment = Deployment.load(settings.deployment_file)
        except FileNotFoundError:
            raise click.ClickException(f"no deployment at {settings.deployment_file};"
                                       " run `ember chain deploy`") from None
        healthy = show_status(w3, deployment, settings)
        if not healthy:
            sys.exit(1)


def chain_settings(root: Path) -> Settings:
    """The settings, with CHAIN_RPC_URL or else the local stack's chain (started if need be)."""
    settings = settings_for(root)
    if settings.chain_rpc_url:
        return settings
    url = local_stack.up_chain(root, log=progress)
    return settings.model_copy(update={"chain_rpc_url": url})


def connect(settings: Settings) -> Web3:
    """A web3 client of CHAIN_RPC_URL that answered; a one-line error otherwise."""
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(settings.chain_rpc_url, request_kwargs={"timeout": 30}))
    if not w3.is_connected():
        raise click.ClickException(f"chain: no answer from CHAIN_RPC_URL"
                                   f" {redact(settings.chain_rpc_url)}")
    return w3


def wallet_address(settings: Settings, chain_id: int) -> str:
    """The technical wallet's address: from its configured key, else Hardhat's #1 on dev chains."""
    from eth_account import Account

    from ember.adapters.chain.deploy import DEV_CHAIN_IDS, DEV_WALLET_KEY

    if settings.wallet_signer == "env" and settings.wallet_private_key is not None:
        return str(Account.from_key(settings.wallet_private_key.get_secret_value()).address)
    if settings.wallet_signer != "env":
        import boto3

        from ember.adapters.chain.signer import signer_from_settings

        session = boto3.Session(region_name=settings.aws_region)
        return signer_from_settings(settings, session).address
    if chain_id in DEV_CHAIN_IDS:
        return str(Account.from_key(DEV_WALLET_KEY).address)
    raise SettingsError(f"invalid setting EMBER_WALLET_PRIVATE_KEY: is required on chain"
                        f" {chain_id} (or pass --wallet)")


def _deployer_key(chain_id: int) -> str:
    """EMBER_DEPLOYER_PRIVATE_KEY, else Hardhat's account #0 on dev chains."""
    from ember.adapters.chain.deploy import DEV_CHAIN_IDS, DEV_DEPLOYER_KEY

    key = os.environ.get(DEPLOYER_KEY_VAR)
    if key:
        return key
    if chain_id in DEV_CHAIN_IDS:
        return DEV_DEPLOYER_KEY
    raise SettingsError(f"invalid setting {DEPLOYER_KEY_VAR}: is required on chain {chain_id}")


def show_status(w3: Web3, deployment: Deployment, settings: Settings) -> bool:
    """Prints the deployment's table; True when the chain matches and every address has code."""
    from ember.adapters.chain.artifacts import load

    chain_id = w3.eth.chain_id
    console = Console(width=None if sys.stdout.isatty() else 120)
    console.print(f"chain_id={chain_id} block={w3.eth.block_number}"
                  f" rpc={redact(settings.chain_rpc_url)} deployed_at_block={deployment.block}"
                  f" file={settings.deployment_file}")
    table = Table("contract", "address", "code")
    healthy = chain_id == deployment.chain_id
    for role, address in deployment.contracts.items():
        has_code = bool(w3.eth.get_code(w3.to_checksum_address(address)))
        healthy = healthy and has_code
        table.add_row(role, address, "yes" if has_code else "NO")
    console.print(table)
    if not healthy:
        console.print("the chain does not hold this deployment: run `ember chain deploy`")
        return False
    token = w3.eth.contract(address=w3.to_checksum_address(deployment.token),
                            abi=load("EmberToken").abi)
    pair = w3.eth.contract(address=w3.to_checksum_address(deployment.pair),
                           abi=load("UniswapV2Pair").abi)
    reserve0, reserve1, _ = pair.functions.getReserves().call()
    console.print(f"token_supply={token.functions.totalSupply().call()}"
                  f" pair_reserves={reserve0},{reserve1} wallet={deployment.wallet}"
                  f" wallet_wei={w3.eth.get_balance(w3.to_checksum_address(deployment.wallet))}")
    return True
