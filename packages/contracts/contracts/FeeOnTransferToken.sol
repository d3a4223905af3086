// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title Fee-on-transfer test token: every transfer burns 1% of the amount on the way.
/// @notice FOR TESTS ONLY: anyone can mint. The recipient of `transfer(to, 100)` gets 99.
contract FeeOnTransferToken is ERC20 {
    /// @notice The fee in basis points of every transfer (mints and burns are free).
    uint256 public constant FEE_BPS = 100;

    constructor() ERC20("Fee-on-transfer USD", "fUSD") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints `amount` to `to`. Open to anyone: test use only.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) return super._update(from, to, value);
        uint256 fee = value * FEE_BPS / 10_000;
        super._update(from, address(0), fee);
        super._update(from, to, value - fee);
    }
}
