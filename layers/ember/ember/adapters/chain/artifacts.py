"""The compiled contracts shipped with the package: `load(name)` gives an ABI and bytecode.

```python
from ember.adapters.chain import artifacts

token = artifacts.load(artifacts.EMBER_TOKEN)
w3.eth.contract(abi=token.abi, bytecode=token.bytecode)
```
The JSON files in `artifacts/` are written by `contracts/build.mjs` (`make contracts`) and
checked against the sources by `make contracts-check`; the Uniswap V2 ones are copied from
their npm packages, so nothing here needs node at run time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

EMBER_TOKEN = "EmberToken"
DIVIDEND_POOL = "DividendPool"
TEST_STABLE = "TestStable"  # development chains only
UNISWAP_V2_FACTORY = "UniswapV2Factory"
UNISWAP_V2_PAIR = "UniswapV2Pair"
UNISWAP_V2_ROUTER02 = "UniswapV2Router02"
WETH9 = "WETH9"

NAMES = (EMBER_TOKEN, DIVIDEND_POOL, TEST_STABLE, UNISWAP_V2_FACTORY, UNISWAP_V2_PAIR,
         UNISWAP_V2_ROUTER02, WETH9)


@dataclass(frozen=True)
class Artifact:
    """A contract's name, ABI and creation bytecode (0x-prefixed hex)."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str


def load(name: str) -> Artifact:
    """The artifact of contract `name` (one of NAMES); ValueError for any other name."""
    if name not in NAMES:
        raise ValueError(f"unknown contract artifact {name!r}; known: {', '.join(NAMES)}")
    text = resources.files("ember.adapters.chain").joinpath("artifacts", f"{name}.json").read_text()
    built = json.loads(text)
    return Artifact(name=name, abi=built["abi"], bytecode=built["bytecode"])
