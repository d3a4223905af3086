// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title Test token: a mintable ERC-20 with EIP-2612 permit for tests, demos and benchmarks.
/// @notice FOR TESTS AND DEMOS ONLY: anyone can mint any amount. Never use it as a payment token
/// on a real chain.
contract TestToken is ERC20, ERC20Permit {
    uint8 private immutable _decimals;

    constructor(string memory name_, string memory symbol_, uint8 decimals_) ERC20(name_, symbol_)
        ERC20Permit(name_)
    {
        _decimals = decimals_;
    }

    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    /// @notice Mints `amount` to `to`. Open to anyone: test and demo use only.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
