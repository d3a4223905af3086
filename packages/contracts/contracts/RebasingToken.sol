// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title Rebasing test token: balances are shares times a factor that `rebase` moves.
/// @notice FOR TESTS ONLY: anyone can mint and anyone can rebase every balance by a percentage.
contract RebasingToken is IERC20 {
    uint256 private constant ONE = 1e18;

    string public constant name = "Rebasing USD";
    string public constant symbol = "rUSD";
    uint8 public constant decimals = 6;

    /// @notice Token units per share, times 1e18.
    uint256 public factor = ONE;
    uint256 private _totalShares;
    mapping(address => uint256) private _shares;
    mapping(address => mapping(address => uint256)) private _allowances;

    /// @notice Multiplies every balance by `(10000 + bps) / 10000` (bps may be negative).
    function rebase(int256 bps) external {
        factor = factor * uint256(10_000 + bps) / 10_000;
    }

    /// @notice Mints `amount` to `to`. Open to anyone: test use only.
    function mint(address to, uint256 amount) external {
        uint256 shares = amount * ONE / factor;
        _shares[to] += shares;
        _totalShares += shares;
        emit Transfer(address(0), to, amount);
    }

    function totalSupply() external view returns (uint256) {
        return _totalShares * factor / ONE;
    }

    function balanceOf(address account) public view returns (uint256) {
        return _shares[account] * factor / ONE;
    }

    function allowance(address owner, address spender) external view returns (uint256) {
        return _allowances[owner][spender];
    }

    function approve(address spender, uint256 value) external returns (bool) {
        _allowances[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _transfer(msg.sender, to, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = _allowances[from][msg.sender];
        if (allowed != type(uint256).max) {
            require(allowed >= value, "allowance");
            _allowances[from][msg.sender] = allowed - value;
        }
        _transfer(from, to, value);
        return true;
    }

    function _transfer(address from, address to, uint256 value) private {
        // Shares round down: the recipient may get a unit less than `value` (like stETH).
        uint256 shares = value * ONE / factor;
        require(_shares[from] >= shares, "balance");
        _shares[from] -= shares;
        _shares[to] += shares;
        emit Transfer(from, to, value);
    }
}
