// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title Test-only ERC20 that calls back into a target during its next transfer
/// @notice Used to prove DividendPool's reentrancy guard: arm it with a call into the pool,
/// then have the pool move this token. The callback's revert is bubbled up unchanged.
contract ReentrantToken is ERC20 {
    address private target;
    bytes private callback;

    constructor(uint256 supply) ERC20("Reentrant test token", "REENTER") {
        _mint(msg.sender, supply);
    }

    /// @notice The next transfer (of anyone) calls `target_` with `callback_` once.
    function arm(address target_, bytes calldata callback_) external {
        target = target_;
        callback = callback_;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        address callee = target;
        if (callee == address(0)) return;
        target = address(0);
        (bool ok, bytes memory reason) = callee.call(callback);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(reason, 32), mload(reason))
            }
        }
    }
}
