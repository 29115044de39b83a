// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

interface IDividendPoolViews {
    function token() external view returns (IERC20);
    function totalStaked() external view returns (uint128);
    function totalDeposited() external view returns (uint128);
    function totalClaimed() external view returns (uint128);
    function undistributed() external view returns (uint128);
    function dust() external view returns (uint128);
    function pending(address account) external view returns (uint256);
}

/// @title Test-only reader: every figure of DividendPool's invariants in one eth_call
/// @notice The in-process EVM is slow per call; the property test reads through this instead
/// of a dozen calls per step. It only forwards the pool's own views.
contract PoolLens {
    struct Figures {
        uint256 balance;
        uint256 totalStaked;
        uint256 totalDeposited;
        uint256 totalClaimed;
        uint256 undistributed;
        uint256 dust;
        uint256[] pending;
    }

    function figures(IDividendPoolViews pool, address[] calldata accounts)
        external
        view
        returns (Figures memory f)
    {
        f.balance = pool.token().balanceOf(address(pool));
        f.totalStaked = pool.totalStaked();
        f.totalDeposited = pool.totalDeposited();
        f.totalClaimed = pool.totalClaimed();
        f.undistributed = pool.undistributed();
        f.dust = pool.dust();
        f.pending = new uint256[](accounts.length);
        for (uint256 i = 0; i < accounts.length; i++) {
            f.pending[i] = pool.pending(accounts[i]);
        }
    }
}
