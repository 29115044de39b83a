"""Deploys Ember's contracts (or reuses a live deployment) and records them in a file.

    deployment, reused = ensure_deployed(w3, settings.deployment_file,
                                         deployer=Account.from_key(key), wallet=address)

WETH9, the Uniswap V2 factory and router, EmberToken, a stable (TestStable on dev chains,
else an existing one), DividendPool (owned by the deployer, the technical wallet its
depositor); then the
token/stable pair gets liquidity through router.addLiquidity and the wallet gets stable and
a little ETH. Every transaction is signed by the deployer's key in process: this is an
operator's one-off, not the technical wallet's intent-recorded traffic.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from ember.domain.errors import EmberError

from .artifacts import load
from .deployment import Contracts, Deployment

Log = Callable[[str], None]

DEV_CHAIN_IDS = frozenset({31337, 1337})
# Hardhat's well-known funded accounts #0 and #1 (public test keys; dev chains only).
DEV_DEPLOYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEV_WALLET_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"

ARTIFACTS = ("WETH9", "UniswapV2Factory", "UniswapV2Router02", "EmberToken", "TestStable",
             "DividendPool")
_RECEIPT_TIMEOUT_S = 120
_DEADLINE_S = 600


class DeploymentRefused(EmberError):
    code = "chain_deployment_refused"
    status = 409


@dataclass(frozen=True)
class DeployPlan:
    """Amounts in each token's smallest unit (EmberToken: 18 decimals, stables: 6)."""

    token_supply: int = 1_000_000_000 * 10**18
    pool_tokens: int = 100_000_000 * 10**18  # with pool_stable: 0.001 stable per token
    pool_stable: int = 100_000 * 10**6
    wallet_stable: int = 10_000 * 10**6
    wallet_eth: int = 10**18  # gas money for the technical wallet
    stake_unit: int = 10**12  # DividendPool: token units per share (0.000001 EMBR)
    stable: str | None = None  # an existing stable to use; None deploys TestStable


def ensure_deployed(w3: Web3, path: Path, *, deployer: LocalAccount, wallet: str,
                    plan: DeployPlan | None = None, log: Log = lambda line: None
                    ) -> tuple[Deployment, bool]:
    """(the live deployment, True when the one recorded at `path` was reused)."""
    plan = plan or DeployPlan()
    wallet = Web3.to_checksum_address(wallet)
    reason = stale_reason(w3, path, wallet)
    if reason is None:
        deployment = Deployment.load(path)
        log(f"reusing deployment chain_id={deployment.chain_id} block={deployment.block}"
            f" file={path}")
        return deployment, True
    log(f"deploying reason={reason.replace(' ', '_')} chain_id={w3.eth.chain_id}")
    deployment = deploy(w3, deployer=deployer, wallet=wallet, plan=plan, log=log)
    deployment.save(path)
    log(f"deployment_written file={path}")
    return deployment, False


def stale_reason(w3: Web3, path: Path, wallet: str) -> str | None:
    """Why the deployment at `path` cannot be reused on `w3`'s chain; None when it can."""
    if not Path(path).is_file():
        return "no deployment file"
    recorded = Deployment.load(path)
    if recorded.chain_id != w3.eth.chain_id:
        return f"file is for chain {recorded.chain_id}"
    if recorded.wallet != wallet:
        return "wallet changed"
    for role, address in recorded.contracts.items():
        if not w3.eth.get_code(Web3.to_checksum_address(address)):
            return f"no code at {role}"
    current = artifact_hashes(test_stable=recorded.test_stable)
    if any(recorded.artifacts.get(name) != digest for name, digest in current.items()):
        return "artifacts changed"
    return None


def artifact_hashes(*, test_stable: bool) -> dict[str, str]:
    """sha256 of each deployed contract's creation bytecode, by artifact name."""
    names = [n for n in ARTIFACTS if test_stable or n != "TestStable"]
    return {name: _bytecode_hash(load(name).bytecode) for name in names}


def deploy(w3: Web3, *, deployer: LocalAccount, wallet: str, plan: DeployPlan,
           log: Log) -> Deployment:
    """A fresh deployment: every contract, the pool's liquidity, the wallet's funds."""
    chain_id = w3.eth.chain_id
    if plan.stable is None and chain_id not in DEV_CHAIN_IDS:
        raise DeploymentRefused(f"chain {chain_id} is not a dev chain: TestStable has no value;"
                                " give the address of a real stable (--stable)")
    send = _Sender(w3, deployer, log)
    weth = send.create("WETH9")
    factory = send.create("UniswapV2Factory", deployer.address)
    router = send.create("UniswapV2Router02", factory.address, weth.address)
    token = send.create("EmberToken", deployer.address, plan.token_supply)
    if plan.stable is None:
        stable = send.create("TestStable")
        send.call("mint stable", stable.functions.mint(deployer.address,
                                                      plan.pool_stable + plan.wallet_stable))
    else:
        stable = _at(w3, "TestStable", plan.stable)  # any ERC20: only its ERC20 part is used
        _require_balance(stable, deployer.address, plan.pool_stable + plan.wallet_stable)
    pool = send.create("DividendPool", token.address, plan.stake_unit, deployer.address)
    send.call("allow wallet to deposit", pool.functions.setDepositor(wallet, True))
    pair = _add_liquidity(w3, send, router, factory, token, stable, plan)
    send.call("fund wallet stable", stable.functions.transfer(wallet, plan.wallet_stable))
    if plan.wallet_eth and wallet != deployer.address:
        send.value("fund wallet eth", wallet, plan.wallet_eth)
    log(f"funded wallet={wallet} stable={plan.wallet_stable} wei={plan.wallet_eth}")
    contracts = Contracts(weth=weth.address, factory=factory.address, router=router.address,
                          token=token.address, stable=stable.address,
                          dividend_pool=pool.address, pair=pair)
    return Deployment(chain_id=chain_id, block=send.first_block or 0, deployer=deployer.address,
                      wallet=wallet, contracts=contracts, test_stable=plan.stable is None,
                      artifacts=artifact_hashes(test_stable=plan.stable is None))


def _add_liquidity(w3: Web3, send: _Sender, router: Contract, factory: Contract,
                   token: Contract, stable: Contract, plan: DeployPlan) -> str:
    """The token/stable pair's address, once the router created it with the plan's liquidity."""
    send.call("approve token", token.functions.approve(router.address, plan.pool_tokens))
    send.call("approve stable", stable.functions.approve(router.address, plan.pool_stable))
    deadline = w3.eth.get_block("latest")["timestamp"] + _DEADLINE_S
    send.call("add liquidity", router.functions.addLiquidity(
        token.address, stable.address, plan.pool_tokens, plan.pool_stable,
        plan.pool_tokens, plan.pool_stable, send.address, deadline))
    pair = str(factory.functions.getPair(token.address, stable.address).call())
    log_reserves = _at(w3, "UniswapV2Pair", pair).functions.getReserves().call()
    send.log(f"liquidity pair={pair} reserves={log_reserves[0]},{log_reserves[1]}")
    return pair


class _Sender:
    """Signs and sends the deployer's transactions one after another, waiting for each."""

    def __init__(self, w3: Web3, account: LocalAccount, log: Log) -> None:
        self.w3, self.account, self.log = w3, account, log
        self.address = account.address
        self.chain_id = w3.eth.chain_id
        self.nonce = int(w3.eth.get_transaction_count(account.address, "pending"))
        self.first_block: int | None = None

    def create(self, name: str, *args: Any) -> Contract:
        """The contract `name` deployed with constructor `args`."""
        artifact = load(name)
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        receipt = self._send(name, factory.constructor(*args).build_transaction(self._base()))
        address = receipt["contractAddress"]
        self.log(f"deployed contract={name} address={address} block={receipt['blockNumber']}")
        return self.w3.eth.contract(address=address, abi=artifact.abi)

    def call(self, what: str, function: Any) -> None:
        self._send(what, function.build_transaction(self._base()))

    def value(self, what: str, to: str, wei: int) -> None:
        tip = self.w3.eth.max_priority_fee
        base_fee = int(self.w3.eth.get_block("latest")["baseFeePerGas"])
        tx: dict[str, Any] = {**self._base(), "to": to, "value": wei, "type": 2,
                              "maxPriorityFeePerGas": tip, "maxFeePerGas": 2 * base_fee + tip}
        tx["gas"] = self.w3.eth.estimate_gas(tx)  # type: ignore[arg-type]
        self._send(what, tx)

    def _base(self) -> dict[str, Any]:
        return {"from": self.address, "nonce": self.nonce, "chainId": self.chain_id}

    def _send(self, what: str, tx: dict[str, Any]) -> Any:
        signed = self.account.sign_transaction(tx)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=_RECEIPT_TIMEOUT_S)
        if receipt["status"] != 1:
            raise DeploymentRefused(f"{what} reverted tx=0x{bytes(tx_hash).hex()}")
        self.nonce += 1
        if self.first_block is None:
            self.first_block = int(receipt["blockNumber"])
        return receipt


def _at(w3: Web3, name: str, address: str) -> Contract:
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=load(name).abi)


def _require_balance(token: Contract, holder: str, needed: int) -> None:
    held = int(token.functions.balanceOf(holder).call())
    if held < needed:
        raise DeploymentRefused(f"deployer {holder} holds {held} of stable {token.address},"
                                f" needs {needed} (pool liquidity + wallet funding)")


def _bytecode_hash(bytecode: str | bytes) -> str:
    raw = bytes.fromhex(bytecode.removeprefix("0x")) if isinstance(bytecode, str) else bytecode
    return hashlib.sha256(raw).hexdigest()
