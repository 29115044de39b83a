"""The buy-back's and burn's outside world, wired from the settings: chain, DEX, CEX, prices.

    chain = ember.chain                      # ChainWiring, made on first use
    chain.dex_route.buy(buyback_id, spend, min_tokens_out)
    chain.price_source.reference()           # the CEX ticker, else EMBER_REFERENCE_PRICE

Only the buy-back and burn processes import this module (through `Ember.chain`): web3
loads here, ccxt only when a CEX is configured, and the API imports neither.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from web3 import Web3

from ember.adapters.chain import artifacts
from ember.adapters.chain.deployment import Deployment
from ember.adapters.chain.dex_route import UniswapRoute
from ember.adapters.chain.intents import TransactionIntents
from ember.adapters.chain.reverts import RevertDecoder
from ember.adapters.chain.signer import Signer, signer_from_settings
from ember.adapters.chain.token_actions import ChainTokenActions
from ember.adapters.postgres.database import Database
from ember.services.buyback_ports import BuyRoute, PoolPrice, PriceSource

from .settings import Settings, SettingsError

if TYPE_CHECKING:
    from ember.adapters.exchange.ccxt_venue import CexVenue
    from ember.adapters.exchange.cex_route import CexRoute

TOKEN_DECIMALS, STABLE_DECIMALS = 18, 6
_RPC_TIMEOUT_S = 30


class ChainWiring:
    """Each collaborator made once, on first use; bad settings fail here, with the variable."""

    def __init__(self, settings: Settings, db: Database, *, aws: Any = None) -> None:
        if not settings.chain_rpc_url:
            raise SettingsError("invalid setting CHAIN_RPC_URL: is required for buy-backs and burns")
        if settings.cex_exchange is None and settings.reference_price is None:
            raise SettingsError("invalid setting EMBER_REFERENCE_PRICE: is required when no CEX"
                                " is configured (EMBER_CEX_EXCHANGE): the buy-back guard needs"
                                " a price independent of the pool")
        self.settings, self.db, self._aws = settings, db, aws

    @cached_property
    def w3(self) -> Web3:
        provider = Web3.HTTPProvider(self.settings.chain_rpc_url,
                                     request_kwargs={"timeout": _RPC_TIMEOUT_S})
        return Web3(provider)

    @cached_property
    def signer(self) -> Signer:
        aws = self._aws
        if aws is None and self.settings.wallet_signer != "env":
            import boto3

            aws = boto3.Session(region_name=self.settings.aws_region)
        return signer_from_settings(self.settings, aws)

    def gas_balance(self) -> int:
        """The technical wallet's native balance in wei, for the wallet-gas-low alarm."""
        return int(self.w3.eth.get_balance(Web3.to_checksum_address(self.signer.address)))

    @cached_property
    def intents(self) -> TransactionIntents:
        decoder = RevertDecoder(artifacts.load(name).abi for name in artifacts.NAMES)
        return TransactionIntents(self.db, self.w3, self.signer, self.settings.chain_confirmations,
                                  decoder=decoder)

    @cached_property
    def deployment(self) -> Deployment:
        return Deployment.load(self.settings.deployment_file)

    @cached_property
    def dex_route(self) -> UniswapRoute:
        return UniswapRoute.from_deployment(self.w3, self.intents, self.deployment)

    @property
    def pool_price(self) -> PoolPrice:
        return self.dex_route

    @cached_property
    def token_actions(self) -> ChainTokenActions:
        return ChainTokenActions.from_deployment(self.w3, self.intents, self.deployment)

    @cached_property
    def cex_venue(self) -> CexVenue | None:
        settings = self.settings
        if settings.cex_exchange is None:
            return None
        from ember.adapters.exchange.ccxt_venue import CexVenue, binance_exchange

        api_key, api_secret = self.cex_credentials()
        exchange = binance_exchange(api_key, api_secret, base_url=settings.cex_base_url)
        base, quote = settings.cex_symbol.split("/")
        return CexVenue(exchange, symbol=settings.cex_symbol,
                        decimals={base: TOKEN_DECIMALS, quote: STABLE_DECIMALS})

    def cex_credentials(self) -> tuple[str, str]:
        """The exchange's API key and secret: from Secrets Manager when
        EMBER_CEX_API_KEY_SECRET_ID / EMBER_CEX_API_SECRET_SECRET_ID name them, else
        EMBER_CEX_API_KEY / EMBER_CEX_API_SECRET (the settings allow one of each pair)."""
        settings = self.settings
        key = settings.cex_api_key
        secret = settings.cex_api_secret.get_secret_value() if settings.cex_api_secret else None
        if settings.cex_api_key_secret_id or settings.cex_api_secret_secret_id:
            from ember.adapters.aws.credentials import read_secret

            client = self._aws.client("secretsmanager") if self._aws is not None else None
            if settings.cex_api_key_secret_id:
                key = read_secret(settings.cex_api_key_secret_id, variable="EMBER_CEX_API_KEY_SECRET_ID",
                                  region=settings.aws_region, client=client)
            if settings.cex_api_secret_secret_id:
                secret = read_secret(settings.cex_api_secret_secret_id,
                                     variable="EMBER_CEX_API_SECRET_SECRET_ID",
                                     region=settings.aws_region, client=client)
        assert key and secret  # validated with the settings
        return key, secret

    @cached_property
    def cex_route(self) -> CexRoute | None:
        """None unless EMBER_CEX_EXCHANGE is set; withdraws only to the technical wallet."""
        if self.cex_venue is None:
            return None
        from ember.adapters.exchange.cex_route import CexRoute

        wallet = self.signer.address
        if str(self.settings.cex_withdraw_address).lower() != wallet.lower():
            raise SettingsError(f"invalid setting EMBER_CEX_WITHDRAW_ADDRESS: must be the technical"
                                f" wallet's address {wallet}")
        return CexRoute(self.cex_venue, self.w3, token=self.deployment.token, wallet=wallet,
                        confirmations=self.settings.chain_confirmations)

    @cached_property
    def price_source(self) -> PriceSource:
        """The CEX ticker when a CEX is configured, else the configured price; never the pool."""
        if self.cex_venue is not None:
            from ember.adapters.exchange.prices import CexPriceSource

            return CexPriceSource(self.cex_venue)
        from ember.adapters.exchange.prices import FixedPriceSource

        return FixedPriceSource.parse(str(self.settings.reference_price))

    @property
    def routes(self) -> list[BuyRoute]:
        """Every venue the wallet can buy on: the DEX, and the CEX when configured."""
        cex = self.cex_route
        return [self.dex_route] if cex is None else [self.dex_route, cex]
