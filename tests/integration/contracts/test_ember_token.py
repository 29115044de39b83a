"""EmberToken: a fixed-supply, burnable ERC20 with no way to mint after deployment."""

from __future__ import annotations

from web3.logs import DISCARD

from ember.adapters.chain import artifacts

from .conftest import SUPPLY, TOKEN, Chain, deploy_artifact, send

ZERO = "0x" + "00" * 20


def test_deployment_mints_the_whole_supply_once_to_the_holder(chain: Chain) -> None:
    fresh = deploy_artifact(chain.w3, chain.treasury, artifacts.EMBER_TOKEN, chain.wallet, 5 * TOKEN)
    assert fresh.functions.balanceOf(chain.wallet).call() == 5 * TOKEN
    assert fresh.functions.totalSupply().call() == 5 * TOKEN
    (minted,) = fresh.events.Transfer().get_logs(from_block=0)
    assert (minted.args["from"], minted.args.to, minted.args.value) == (ZERO, chain.wallet, 5 * TOKEN)


def test_metadata_is_ember_with_18_decimals(chain: Chain) -> None:
    token = chain.token.functions
    assert (token.name().call(), token.symbol().call(), token.decimals().call()) == ("Ember", "EMBR", 18)
    assert token.totalSupply().call() == SUPPLY


def test_there_is_no_mint_function() -> None:
    names = {e["name"] for e in artifacts.load(artifacts.EMBER_TOKEN).abi if e["type"] == "function"}
    assert not {n for n in names if "mint" in n.lower()}
    assert names == {"allowance", "approve", "balanceOf", "burn", "burnFrom", "decimals", "name",
                     "symbol", "totalSupply", "transfer", "transferFrom"}


def test_deploying_with_zero_supply_reverts_with_zero_supply(chain: Chain, reverts) -> None:
    built = artifacts.load(artifacts.EMBER_TOKEN)
    constructor = chain.w3.eth.contract(abi=built.abi, bytecode=built.bytecode).constructor(chain.wallet, 0)
    reverts(chain.token, "ZeroSupply", constructor, chain.treasury)


def test_deploying_to_the_zero_address_reverts_with_invalid_receiver(chain: Chain, reverts) -> None:
    built = artifacts.load(artifacts.EMBER_TOKEN)
    constructor = chain.w3.eth.contract(abi=built.abi, bytecode=built.bytecode).constructor(ZERO, 1)
    reverts(chain.token, "ERC20InvalidReceiver", constructor, chain.treasury, ZERO)


def test_transfer_moves_tokens_and_emits_transfer(chain: Chain) -> None:
    receipt = send(chain.token.functions.transfer(chain.wallet, 7), chain.treasury)
    assert chain.token.functions.balanceOf(chain.wallet).call() == 7
    (event,) = chain.token.events.Transfer().process_receipt(receipt, errors=DISCARD)
    assert (event.args["from"], event.args.to, event.args.value) == (chain.treasury, chain.wallet, 7)


def test_transfer_beyond_balance_reverts_with_insufficient_balance(chain: Chain, reverts) -> None:
    reverts(chain.token, "ERC20InsufficientBalance", chain.token.functions.transfer(chain.treasury, 1),
            chain.wallet, chain.wallet, 0, 1)


def test_transfer_to_zero_address_reverts_with_invalid_receiver(chain: Chain, reverts) -> None:
    reverts(chain.token, "ERC20InvalidReceiver", chain.token.functions.transfer(ZERO, 1), chain.treasury,
            ZERO)


def test_approve_sets_allowance_and_emits_approval(chain: Chain) -> None:
    receipt = send(chain.token.functions.approve(chain.wallet, 9), chain.treasury)
    assert chain.token.functions.allowance(chain.treasury, chain.wallet).call() == 9
    (event,) = chain.token.events.Approval().process_receipt(receipt, errors=DISCARD)
    assert (event.args.owner, event.args.spender, event.args.value) == (chain.treasury, chain.wallet, 9)


def test_approve_zero_spender_reverts_with_invalid_spender(chain: Chain, reverts) -> None:
    reverts(chain.token, "ERC20InvalidSpender", chain.token.functions.approve(ZERO, 1), chain.treasury, ZERO)


def test_transfer_from_spends_the_allowance(chain: Chain) -> None:
    send(chain.token.functions.approve(chain.wallet, 10), chain.treasury)
    send(chain.token.functions.transferFrom(chain.treasury, chain.stakers[0], 4), chain.wallet)
    assert chain.token.functions.balanceOf(chain.stakers[0]).call() == 4
    assert chain.token.functions.allowance(chain.treasury, chain.wallet).call() == 6


def test_transfer_from_beyond_allowance_reverts_with_insufficient_allowance(chain: Chain, reverts) -> None:
    send(chain.token.functions.approve(chain.wallet, 3), chain.treasury)
    fn = chain.token.functions.transferFrom(chain.treasury, chain.wallet, 4)
    reverts(chain.token, "ERC20InsufficientAllowance", fn, chain.wallet, chain.wallet, 3, 4)


def test_burn_shrinks_balance_and_supply(chain: Chain) -> None:
    before = chain.token.functions.balanceOf(chain.treasury).call()
    receipt = send(chain.token.functions.burn(2 * TOKEN), chain.treasury)
    assert chain.token.functions.totalSupply().call() == SUPPLY - 2 * TOKEN
    assert chain.token.functions.balanceOf(chain.treasury).call() == before - 2 * TOKEN
    (event,) = chain.token.events.Transfer().process_receipt(receipt, errors=DISCARD)
    assert (event.args["from"], event.args.to, event.args.value) == (chain.treasury, ZERO, 2 * TOKEN)


def test_burn_beyond_balance_reverts_with_insufficient_balance(chain: Chain, reverts) -> None:
    reverts(chain.token, "ERC20InsufficientBalance", chain.token.functions.burn(1), chain.wallet,
            chain.wallet, 0, 1)


def test_burn_from_spends_allowance_and_shrinks_supply(chain: Chain) -> None:
    send(chain.token.functions.approve(chain.wallet, 5), chain.treasury)
    send(chain.token.functions.burnFrom(chain.treasury, 5), chain.wallet)
    assert chain.token.functions.totalSupply().call() == SUPPLY - 5
    assert chain.token.functions.allowance(chain.treasury, chain.wallet).call() == 0


def test_burn_from_without_allowance_reverts_with_insufficient_allowance(chain: Chain, reverts) -> None:
    reverts(chain.token, "ERC20InsufficientAllowance", chain.token.functions.burnFrom(chain.treasury, 1),
            chain.wallet, chain.wallet, 0, 1)
