// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @title Dividend pool: stakers of a token earn the same token, deposited by the buy-back
/// @notice Stakers stake `token`; authorised depositors (the buy-back wallet) deposit rewards in
/// the same `token`; each staker claims its share in O(1) through a reward-per-share accumulator.
///
/// Accounting is exact to the unit, with no fractional rewards anywhere:
/// - A stake earns through whole shares: `shares = staked / stakeUnit`. The accumulator
///   `rewardPerShare` counts whole token units per share, so every staker's accrual
///   `shares * (rewardPerShare - paidPerShare)` is an integer and the sum over stakers is
///   exactly what was distributed. (With an 18-decimal token and `stakeUnit = 1e12`, a share
///   is 0.000001 token; the sub-share remainder of a stake is principal that does not earn.)
/// - A deposit distributes `amount + undistributed + dust`: `perShare = floor(that / totalShares)`
///   goes to the accumulator, the remainder (< totalShares) is kept in `dust` and carried into
///   the next deposit. Dust is never lost, only delayed.
/// - A deposit made while there are no shares is kept in `undistributed` and distributed, with
///   the dust, by the next deposit that finds shares. (Not on the first stake: that would hand
///   the whole backlog to whoever stakes first, however little.)
/// Invariants, after every transaction:
///   token.balanceOf(pool) == totalStaked + totalDeposited - totalClaimed   (principal apart)
///   totalClaimed + sum(pending) + undistributed + dust == totalDeposited  (rewards, to the unit)
/// Tokens sent to the pool by a plain transfer are not accounted and stay in the pool.
contract DividendPool is Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    struct Staker {
        uint128 staked; // principal, in token units
        uint128 owed; // rewards accrued up to `paidPerShare`, not yet claimed
        uint128 paidPerShare; // rewardPerShare when `owed` was last brought up to date
    }

    /// @notice The staked token, which is also the reward token.
    IERC20 public immutable token;
    /// @notice Token units per share: a stake earns on `staked / stakeUnit` whole shares.
    uint256 public immutable stakeUnit;

    // Packed in pairs: deposit() reads one slot and writes two.
    /// @notice Principal staked by everyone, in token units.
    uint128 public totalStaked;
    /// @notice Whole shares of everyone: the sum of `staked / stakeUnit` over stakers.
    uint128 public totalShares;
    /// @notice Rewards per share ever distributed, in token units (an integer, never scaled).
    uint128 public rewardPerShare;
    /// @notice Deposited but not yet distributed: the remainder of the last division.
    uint128 public dust;
    /// @notice Deposited while there were no shares; distributed by the next deposit.
    uint128 public undistributed;
    /// @notice Rewards ever deposited.
    uint128 public totalDeposited;
    /// @notice Rewards ever claimed.
    uint128 public totalClaimed;

    /// @notice Whether an account may deposit rewards.
    mapping(address account => bool allowed) public isDepositor;
    mapping(address account => Staker) private stakers;

    event Staked(address indexed account, uint256 amount);
    event Unstaked(address indexed account, uint256 amount);
    event Claimed(address indexed account, uint256 amount);
    /// @param distributed added to stakers' rewards by this deposit (amount + backlog - dust)
    /// @param undistributed backlog after the deposit (non-zero only when there were no shares)
    /// @param dust remainder after the deposit, carried into the next one
    event Deposited(
        address indexed depositor, uint256 amount, uint256 distributed, uint256 undistributed, uint256 dust
    );
    event DepositorSet(address indexed account, bool allowed);

    error ZeroAmount();
    error ZeroAddress();
    error ZeroStakeUnit();
    error NotDepositor(address account);
    error InsufficientStake(uint256 staked, uint256 requested);
    error NothingToClaim();

    /// @param token_ the token staked and paid as reward
    /// @param stakeUnit_ token units per share (1e12 for an 18-decimal token)
    /// @param owner_ manages the depositors (two-step ownership transfer)
    constructor(IERC20 token_, uint256 stakeUnit_, address owner_) Ownable(owner_) {
        if (address(token_) == address(0)) revert ZeroAddress();
        if (stakeUnit_ == 0) revert ZeroStakeUnit();
        token = token_;
        stakeUnit = stakeUnit_;
    }

    // ---- stakers ----

    /// @notice Stakes `amount` of the caller's tokens (needs an allowance).
    function stake(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Staker storage staker = _accrue(msg.sender);
        _restake(staker, staker.staked + amount);
        emit Staked(msg.sender, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Returns `amount` of the caller's principal; accrued rewards stay claimable.
    function unstake(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Staker storage staker = _accrue(msg.sender);
        uint256 staked = staker.staked;
        if (amount > staked) revert InsufficientStake(staked, amount);
        _restake(staker, staked - amount);
        emit Unstaked(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @notice Pays the caller every reward accrued so far.
    function claim() external nonReentrant {
        Staker storage staker = stakers[msg.sender];
        uint256 perShare = rewardPerShare;
        uint256 amount = _pending(staker, perShare);
        if (amount == 0) revert NothingToClaim();
        // Settled in one go rather than accrued then zeroed: no write of a value that is undone.
        (staker.owed, staker.paidPerShare) = (0, uint128(perShare));
        totalClaimed = (totalClaimed + amount).toUint128();
        emit Claimed(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    // ---- depositors ----

    /// @notice Adds `amount` of the caller's tokens to the rewards (authorised depositors only).
    function deposit(uint256 amount) external nonReentrant {
        if (!isDepositor[msg.sender]) revert NotDepositor(msg.sender);
        if (amount == 0) revert ZeroAmount();
        uint256 shares = totalShares;
        uint256 backlog = undistributed + amount;
        uint256 remainder = dust;
        uint256 distributed;
        if (shares != 0) {
            uint256 perShare = (backlog + remainder) / shares;
            distributed = perShare * shares;
            remainder = backlog + remainder - distributed;
            backlog = 0;
            (rewardPerShare, dust) = ((rewardPerShare + perShare).toUint128(), uint128(remainder));
        }
        (undistributed, totalDeposited) = (backlog.toUint128(), (totalDeposited + amount).toUint128());
        emit Deposited(msg.sender, amount, distributed, backlog, remainder);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    // ---- owner ----

    /// @notice Allows or forbids `account` to deposit.
    function setDepositor(address account, bool allowed) external onlyOwner {
        if (account == address(0)) revert ZeroAddress();
        isDepositor[account] = allowed;
        emit DepositorSet(account, allowed);
    }

    // ---- views ----

    /// @notice Rewards `account` could claim now.
    function pending(address account) external view returns (uint256) {
        return _pending(stakers[account], rewardPerShare);
    }

    /// @notice Principal staked by `account`.
    function stakedOf(address account) external view returns (uint256) {
        return stakers[account].staked;
    }

    /// @notice Whole shares `account` earns on.
    function sharesOf(address account) external view returns (uint256) {
        return stakers[account].staked / stakeUnit;
    }

    /// @notice Rewards held by the pool: deposited and not yet claimed.
    function rewardBalance() external view returns (uint256) {
        return totalDeposited - totalClaimed;
    }

    // ---- internals ----

    /// @dev Brings `account`'s owed rewards up to the current accumulator; returns its record.
    function _accrue(address account) private returns (Staker storage staker) {
        staker = stakers[account];
        uint256 perShare = rewardPerShare;
        uint256 paid = staker.paidPerShare;
        if (perShare != paid) {
            uint256 earned = (staker.staked / stakeUnit) * (perShare - paid);
            if (earned != 0) staker.owed = (staker.owed + earned).toUint128();
            staker.paidPerShare = uint128(perShare);
        }
    }

    /// @dev What `staker` is owed once brought up to the accumulator value `perShare`.
    function _pending(Staker storage staker, uint256 perShare) private view returns (uint256) {
        return staker.owed + (staker.staked / stakeUnit) * (perShare - staker.paidPerShare);
    }

    /// @dev Sets an accrued staker's principal to `staked`, keeping both totals in step.
    function _restake(Staker storage staker, uint256 staked) private {
        uint256 before = staker.staked;
        uint256 unit = stakeUnit;
        totalStaked = (totalStaked - before + staked).toUint128();
        totalShares = (totalShares - before / unit + staked / unit).toUint128();
        staker.staked = staked.toUint128();
    }
}
