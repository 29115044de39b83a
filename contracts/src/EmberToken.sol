// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";

/// @title Ember ecosystem token
/// @notice ERC20 with a fixed supply minted once, at deployment, to one holder. There is no
/// mint function: the supply can only shrink, through `burn` and `burnFrom`.
contract EmberToken is ERC20, ERC20Burnable {
    /// @notice A token with no supply would be useless and is a deployment mistake.
    error ZeroSupply();

    /// @param holder receives the whole supply (the treasury); must not be the zero address
    /// @param supply the fixed total supply, in the smallest unit (18 decimals)
    constructor(address holder, uint256 supply) ERC20("Ember", "EMBR") {
        if (supply == 0) revert ZeroSupply();
        _mint(holder, supply);
    }
}
