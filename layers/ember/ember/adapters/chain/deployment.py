"""Where Ember's contracts live on a chain: the deployment file `ember chain deploy` writes.

    deployment = Deployment.load(settings.deployment_file)
    token = w3.eth.contract(address=deployment.token, abi=load("EmberToken").abi)

Standard library only, so reading addresses never costs a web3 import.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from ember.domain.errors import EmberError

FORMAT_VERSION = 1


class DeploymentUnreadable(EmberError):
    code = "chain_deployment_unreadable"
    status = 500


@dataclass(frozen=True)
class Contracts:
    """The checksummed address of every contract Ember uses."""

    weth: str
    factory: str
    router: str
    token: str
    stable: str
    dividend_pool: str
    pair: str  # the token/stable Uniswap V2 pair

    def items(self) -> list[tuple[str, str]]:
        """(role, address) in deployment order."""
        return [(f.name, getattr(self, f.name)) for f in fields(self)]


@dataclass(frozen=True)
class Deployment:
    """One deployment of Ember's contracts on one chain."""

    chain_id: int
    block: int  # the block of the first deployment transaction
    deployer: str  # deployed everything; holds the token supply not put in the pool
    wallet: str  # the technical wallet: the DividendPool's depositor, funded with stable
    contracts: Contracts
    test_stable: bool  # the stable is our TestStable (dev chains only), not a real one
    artifacts: dict[str, str]  # contract name -> sha256 of the bytecode deployed

    @property
    def token(self) -> str:
        return self.contracts.token

    @property
    def stable(self) -> str:
        return self.contracts.stable

    @property
    def router(self) -> str:
        return self.contracts.router

    @property
    def pair(self) -> str:
        return self.contracts.pair

    @property
    def dividend_pool(self) -> str:
        return self.contracts.dividend_pool

    @classmethod
    def load(cls, path: Path) -> Deployment:
        """The deployment recorded at `path`; FileNotFoundError when there is none yet."""
        text = Path(path).read_text()
        try:
            return cls.from_json(json.loads(text))
        except (ValueError, KeyError, TypeError) as error:
            raise DeploymentUnreadable(f"deployment file {path} is unreadable ({error});"
                                       " run `ember chain deploy` again") from None

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Deployment:
        if document.get("version") != FORMAT_VERSION:
            raise ValueError(f"version {document.get('version')!r}, expected {FORMAT_VERSION}")
        return cls(chain_id=int(document["chain_id"]), block=int(document["deployment_block"]),
                   deployer=str(document["deployer"]), wallet=str(document["wallet"]),
                   contracts=Contracts(**document["contracts"]),
                   test_stable=bool(document["test_stable"]),
                   artifacts={str(k): str(v) for k, v in document["artifacts"].items()})

    def to_json(self) -> dict[str, Any]:
        return {"version": FORMAT_VERSION, "chain_id": self.chain_id,
                "deployment_block": self.block, "deployer": self.deployer,
                "wallet": self.wallet, "contracts": asdict(self.contracts),
                "test_stable": self.test_stable, "artifacts": dict(sorted(self.artifacts.items()))}

    def save(self, path: Path) -> None:
        """Writes the file atomically: a reader sees the old deployment or the new one."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        os.replace(tmp, path)
