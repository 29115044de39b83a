// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title Stand-in for a USD stablecoin on development chains ONLY
/// @notice 6 decimals like USDT/USDC, so local token/stable Uniswap pairs price as on mainnet.
/// It has no value and no backing; only its deployer can mint. Never deploy it to a public chain.
contract TestStable is ERC20 {
    /// @notice The deployer; the only account that can mint.
    address public immutable minter;

    /// @notice `account` tried to mint but is not the deployer.
    error NotMinter(address account);

    constructor() ERC20("Ember Dev Test USD (no value)", "tUSD") {
        minter = msg.sender;
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Creates `amount` test units for `to`; deployer only.
    function mint(address to, uint256 amount) external {
        if (msg.sender != minter) revert NotMinter(msg.sender);
        _mint(to, amount);
    }
}
