"""The demo's chain: its technical wallet, its deployment (reused while the chain holds it), and
what the live view and the audit read from it.

The wallet key lives next to the deployment file: a restarted node (a fresh chain) gets a new
deployment and a new wallet, so intents recorded for the old chain never share a nonce
sequence with the new one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ember.runtime.settings import SettingsError

TRANSFER = "Transfer(address,address,uint256)"
DEPOSITED = "Deposited(address,uint256,uint256,uint256,uint256)"
_ZERO_TOPIC = "0x" + "00" * 32
_LOG_CHUNK = 5000
_FUNDS_WEI = 100 * 10**18


@dataclass(frozen=True)
class DemoDeployment:
    """The contracts the demo runs on and the wallet that buys and burns."""

    deployment: Any  # ember.adapters.chain.deployment.Deployment
    file: Path
    wallet_key: str
    reused: bool


def deploy(rpc_url: str, folder: Path, log: Callable[[str], None]) -> DemoDeployment:
    """The deployment in `folder` if the chain still holds it, else a fresh one with a new wallet."""
    from eth_account import Account

    from ember.adapters.chain.deploy import DEV_CHAIN_IDS, DeployPlan, ensure_deployed, stale_reason

    w3 = connect(rpc_url)
    if w3.eth.chain_id not in DEV_CHAIN_IDS:
        raise SettingsError("invalid setting CHAIN_RPC_URL: the demo deploys test contracts and"
                            f" funds accounts, so it runs on a dev chain only (chain {w3.eth.chain_id})")
    folder.mkdir(parents=True, exist_ok=True)
    file, key_file = folder / "deployment.json", folder / "wallet.key"
    key = key_file.read_text().strip() if key_file.is_file() else ""
    if not key or stale_reason(w3, file, Account.from_key(key).address) is not None:
        key = "0x" + secrets.token_hex(32)
        _write_private(key_file, key)
    deployer = Account.from_key("0x" + secrets.token_hex(32))  # never shares a nonce
    w3.provider.make_request("hardhat_setBalance", [deployer.address, hex(_FUNDS_WEI)])  # type: ignore[arg-type]
    deployment, reused = ensure_deployed(w3, file, deployer=deployer,
                                         wallet=Account.from_key(key).address,
                                         plan=DeployPlan(), log=log)
    return DemoDeployment(deployment, file, key, reused)


def forget(folder: Path) -> None:
    """Drops the recorded deployment and wallet: the next run deploys afresh (`--fresh`)."""
    for name in ("deployment.json", "wallet.key"):
        (folder / name).unlink(missing_ok=True)


def _write_private(path: Path, text: str) -> None:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text + "\n")


def connect(rpc_url: str) -> Any:
    from web3 import Web3

    return Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))


class ChainView:
    """Reads of the deployment: supply, burns and dividend deposits as the chain records them."""

    def __init__(self, rpc_url: str, deployment: Any) -> None:
        self.w3 = connect(rpc_url)
        self.deployment = deployment

    @cached_property
    def token(self) -> Any:
        from ember.adapters.chain.artifacts import EMBER_TOKEN, load

        return self.w3.eth.contract(address=self.w3.to_checksum_address(self.deployment.token),
                                    abi=load(EMBER_TOKEN).abi)

    def total_supply(self) -> int:
        return int(self.token.functions.totalSupply().call())

    def minted(self) -> int:
        """Every token the token contract ever minted (Transfer events from the zero address)."""
        return sum(self._amounts(self.deployment.token, [self._topic(TRANSFER), _ZERO_TOPIC]))

    def burned(self, holder: str | None = None) -> int:
        """Every token burned (Transfer events to the zero address), or `holder`'s only."""
        sender = None if holder is None else "0x" + "00" * 12 + holder.lower().removeprefix("0x")
        return sum(self._amounts(self.deployment.token,
                                 [self._topic(TRANSFER), sender, _ZERO_TOPIC]))

    def dividends_deposited(self, depositor: str) -> int:
        """The amounts `depositor` deposited into the DividendPool (Deposited events)."""
        topic = "0x" + "00" * 12 + depositor.lower().removeprefix("0x")
        return sum(self._amounts(self.deployment.dividend_pool, [self._topic(DEPOSITED), topic]))

    def block_hash(self, number: int) -> tuple[str, int, int]:
        """(hash, timestamp, the previous block's timestamp) of block `number`."""
        block = self.w3.eth.get_block(number)
        before = self.w3.eth.get_block(number - 1)["timestamp"] if number else -1
        return "0x" + bytes(block["hash"]).hex(), int(block["timestamp"]), int(before)

    def _topic(self, signature: str) -> str:
        return "0x" + bytes(self.w3.keccak(text=signature)).hex()

    def _amounts(self, address: str, topics: list[Any]) -> list[int]:
        """The first data word of every matching log since the deployment's first block."""
        latest = int(self.w3.eth.block_number)
        amounts: list[int] = []
        for low in range(self.deployment.block, latest + 1, _LOG_CHUNK):
            logs = self.w3.eth.get_logs({
                "address": self.w3.to_checksum_address(address), "topics": topics,
                "fromBlock": low, "toBlock": min(low + _LOG_CHUNK - 1, latest)})
            amounts += [int.from_bytes(bytes(log["data"])[:32], "big") for log in logs]
        return amounts
