"""The local chain: a Hardhat node the stack starts, reuses and stops; `ember chain deploy`
puts Ember's contracts on it once and reuses them after."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import psutil
import pytest
from click.testing import CliRunner
from web3 import Web3

from ember.adapters.chain.artifacts import load
from ember.adapters.chain.deploy import DeploymentRefused, DeployPlan, deploy
from ember.adapters.chain.deployment import Deployment
from ember.runtime.cli import main
from ember.runtime.local_stack import chain, down, processes, status, up_chain

pytestmark = pytest.mark.integration


def _block_number(url: str) -> int:
    return int(Web3(Web3.HTTPProvider(url)).eth.block_number)


def test_chain_starts_mines_on_a_clock_is_reused_and_stops(tmp_path: Path) -> None:
    root = tmp_path / ".ember"
    lines: list[str] = []
    try:
        url = up_chain(root, env={}, log=lines.append)
        assert chain.is_healthy(url) and chain.chain_id(url) == 31337
        first = _block_number(url)
        # No transaction sent: a block within 2.2 s comes from interval mining alone.
        assert processes.wait_until(lambda: _block_number(url) >= first + 1, 2.2)

        assert up_chain(root, env={}, log=lines.append) == url
        assert any(line.startswith("chain reused") for line in lines)
        [service] = [s for s in status(root, env={}) if s.name == "chain"]
        assert (service.source, service.url, service.healthy) == ("embedded", url, True)
        assert service.pid is not None
    finally:
        down(root)

    assert not psutil.pid_exists(service.pid) or psutil.Process(service.pid).status() == "zombie"
    assert not chain.is_healthy(url)
    assert "chain" not in [s.name for s in status(root, env={})]  # stopped: no longer listed


def test_a_chain_named_in_the_env_is_used_as_given(tmp_path: Path, chain_rpc_url: str) -> None:
    root = tmp_path / ".ember"
    assert up_chain(root, env={"CHAIN_RPC_URL": chain_rpc_url}) == chain_rpc_url
    assert not (root / "chain").exists()
    [service] = [s for s in status(root, env={"CHAIN_RPC_URL": chain_rpc_url}) if s.name == "chain"]
    assert (service.name, service.source, service.pid, service.healthy) == (
        "chain", "env", None, True)


def test_a_port_taken_before_the_node_binds_it_is_given_up_for_a_free_one(
        tmp_path: Path, chain_rpc_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A free port is free only until someone binds it: here the session's node holds the
    port the probe handed out (as a parallel test session's could). Its answers must not pass
    for the new node's, which gives up the port when it cannot bind it and starts on another."""
    root = tmp_path / ".ember"
    taken = urlsplit(chain_rpc_url).port
    assert taken is not None
    handed_out = iter([taken])
    free_port = processes.free_port
    monkeypatch.setattr(processes, "free_port", lambda: next(handed_out, None) or free_port())
    lines: list[str] = []
    try:
        url = up_chain(root, env={}, log=lines.append)
        [service] = [s for s in status(root, env={}) if s.name == "chain"]
    finally:
        down(root)

    assert f"chain port_taken port={taken}" in lines
    port = urlsplit(url).port
    assert port is not None and port != taken
    assert service.healthy and service.pid is not None
    assert any(line == f"chain ready url={url} pid={service.pid}" for line in lines)
    assert chain.is_healthy(chain_rpc_url)  # the session's node, untouched

def _deploy_cli(env: dict[str, str | None]) -> tuple[list[str], list[str]]:
    result = CliRunner().invoke(main, ["chain", "deploy"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.stdout + result.stderr
    return result.stdout.splitlines(), result.stderr.splitlines()


def test_deploy_twice_reuses_the_first_deployment_and_the_pool_has_liquidity(
        tmp_path: Path, chain_rpc_url: str, stack) -> None:
    deployment_file = tmp_path / "chain" / "deployment.json"
    env = {"DATABASE_URL": stack.database_url, "CHAIN_RPC_URL": chain_rpc_url,
           "EMBER_DEPLOYMENT_FILE": str(deployment_file), "EMBER_WALLET_PRIVATE_KEY": None}

    out, progress = _deploy_cli(env)
    assert any(line.startswith("deployed contract=DividendPool") for line in progress)
    assert "reused=false" in out[0]
    deployment = Deployment.load(deployment_file)
    assert deployment.chain_id == 31337 and deployment.test_stable
    assert deployment.deployer == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # Hardhat #0
    assert deployment.wallet == "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # Hardhat #1
    assert set(json.loads(deployment_file.read_text())["artifacts"]) == {
        "WETH9", "UniswapV2Factory", "UniswapV2Router02", "EmberToken", "TestStable",
        "DividendPool"}

    out, progress = _deploy_cli(env)
    assert "reused=true" in out[0]
    assert any(line.startswith("reusing deployment") for line in progress)
    assert not any(line.startswith("deployed ") for line in progress)
    assert Deployment.load(deployment_file) == deployment

    w3 = Web3(Web3.HTTPProvider(chain_rpc_url))
    plan = DeployPlan()
    token = w3.eth.contract(address=deployment.token, abi=load("EmberToken").abi)
    stable = w3.eth.contract(address=deployment.stable, abi=load("TestStable").abi)
    pair = w3.eth.contract(address=deployment.pair, abi=load("UniswapV2Pair").abi)
    assert token.functions.totalSupply().call() == plan.token_supply
    reserves = pair.functions.getReserves().call()[:2]
    token_first = pair.functions.token0().call() == deployment.token
    assert reserves == ([plan.pool_tokens, plan.pool_stable] if token_first
                        else [plan.pool_stable, plan.pool_tokens])
    assert stable.functions.balanceOf(deployment.wallet).call() == plan.wallet_stable
    pool = w3.eth.contract(address=deployment.dividend_pool, abi=load("DividendPool").abi)
    assert pool.functions.isDepositor(deployment.wallet).call() is True

    status_run = CliRunner().invoke(main, ["chain", "status"], env=env, catch_exceptions=False)
    assert status_run.exit_code == 0, status_run.stdout + status_run.stderr
    assert f"token_supply={plan.token_supply}" in status_run.stdout
    assert deployment.pair in status_run.stdout


def test_a_deployment_whose_code_is_gone_is_deployed_again(
        tmp_path: Path, chain_rpc_url: str, stack) -> None:
    deployment_file = tmp_path / "deployment.json"
    env = {"DATABASE_URL": stack.database_url, "CHAIN_RPC_URL": chain_rpc_url,
           "EMBER_DEPLOYMENT_FILE": str(deployment_file), "EMBER_WALLET_PRIVATE_KEY": None}
    _deploy_cli(env)
    recorded = json.loads(deployment_file.read_text())
    recorded["contracts"]["token"] = "0x" + "11" * 20  # as after a restarted (fresh) chain
    deployment_file.write_text(json.dumps(recorded))

    out, progress = _deploy_cli(env)
    assert "reused=false" in out[0]
    assert any("reason=no_code_at_token" in line for line in progress)
    assert Deployment.load(deployment_file).token != "0x" + "11" * 20


def test_test_stable_is_refused_on_a_chain_that_is_not_a_dev_chain() -> None:
    mainnet = SimpleNamespace(eth=SimpleNamespace(chain_id=1))
    with pytest.raises(DeploymentRefused, match="not a dev chain"):
        deploy(mainnet, deployer=SimpleNamespace(address="0x" + "22" * 20),  # type: ignore[arg-type]
               wallet="0x" + "33" * 20, plan=DeployPlan(), log=print)
