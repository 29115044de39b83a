"""Revert data → a typed `TransactionReverted`, the same on every backend.

A JSON-RPC node (Hardhat, geth) hands back the raw revert data in the error's `data`;
web3's in-process EVM (eth-tester) raises its own exception whose message holds either
the decoded `Error(string)` reason or the repr of the raw bytes. Both are brought back to
the raw bytes first, then decoded once against the contracts' ABIs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector, to_bytes, to_checksum_address

from .errors import TransactionReverted

ERROR_STRING = function_signature_to_4byte_selector("Error(string)")
PANIC = function_signature_to_4byte_selector("Panic(uint256)")
_PREFIX = "execution reverted: "


def _type_of(item: Mapping[str, Any]) -> str:
    if item["type"].startswith("tuple"):
        inner = ",".join(_type_of(c) for c in item["components"])
        return f"({inner}){item['type'][5:]}"
    return str(item["type"])


class RevertDecoder:
    """Decodes revert data by the custom errors of the ABIs it was given."""

    def __init__(self, abis: Iterable[Iterable[Mapping[str, Any]]] = ()) -> None:
        self.errors: dict[bytes, tuple[str, list[str]]] = {
            ERROR_STRING: ("Error", ["string"]), PANIC: ("Panic", ["uint256"])}
        for abi in abis:
            for item in abi:
                if item.get("type") == "error":
                    types = [_type_of(i) for i in item.get("inputs", [])]
                    selector = function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})")
                    self.errors[selector] = (item["name"], types)

    def decode(self, data: bytes | None, **context: Any) -> TransactionReverted:
        """The typed revert for `data`; name "" when no known error matches it."""
        known = self.errors.get(data[:4]) if data and len(data) >= 4 else None
        if data is None or known is None:
            return TransactionReverted("", (), data, **context)
        name, types = known
        try:
            values = abi_decode(types, data[4:])
        except Exception:  # malformed arguments: keep the raw data rather than guess
            return TransactionReverted("", (), data, **context)
        args = tuple(_plain(v, t) for v, t in zip(values, types, strict=True))
        return TransactionReverted(name, args, data, **context)

    def from_exception(self, error: BaseException, **context: Any) -> TransactionReverted | None:
        """The typed revert `error` stands for, or None when it is no revert."""
        found, data = revert_data(error)
        return self.decode(data, **context) if found else None


def _plain(value: Any, abi_type: str) -> Any:
    """Arrays as tuples and addresses checksummed, as web3 shows them everywhere else."""
    if isinstance(value, list | tuple):
        inner = abi_type[:abi_type.rindex("[")] if abi_type.endswith("]") else ""
        return tuple(_plain(v, inner) for v in value)
    if abi_type == "address":
        return to_checksum_address(value)
    return value


def revert_data(error: BaseException) -> tuple[bool, bytes | None]:
    """(whether `error` is a revert, its raw revert data when recoverable)."""
    from web3.exceptions import ContractLogicError, Web3RPCError

    if isinstance(error, ContractLogicError):
        return True, _data_field(error.data)
    if isinstance(error, Web3RPCError):
        rpc_error: Any = (error.rpc_response or {}).get("error") or {}
        message = str(rpc_error.get("message", "")) if isinstance(rpc_error, dict) else ""
        if "revert" in message.lower():
            return True, _data_field(rpc_error.get("data"))
        return False, None
    if type(error).__name__ == "TransactionFailed":  # eth_tester.exceptions, optional import
        return True, _tester_data(str(error.args[0]) if error.args else "")
    return False, None


def _data_field(data: Any) -> bytes | None:
    if isinstance(data, dict):  # Hardhat nests it: {"message": ..., "data": "0x..."}
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return to_bytes(hexstr=data)
        except ValueError:
            return None
    return None


def _tester_data(message: str) -> bytes | None:
    """Raw revert data back from eth-tester's message: the repr of the bytes, or the
    reason string it already decoded from `Error(string)`."""
    reason = message.removeprefix(_PREFIX)
    if reason.startswith(("b'", 'b"')):
        try:
            raw = ast.literal_eval(reason)
        except (ValueError, SyntaxError):
            raw = None
        if isinstance(raw, bytes):
            return raw
    if message.startswith(_PREFIX):
        return ERROR_STRING + abi_encode(["string"], [reason])
    return None
