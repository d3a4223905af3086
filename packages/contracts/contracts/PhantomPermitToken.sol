// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title Phantom-permit test token: no `permit`, but a fallback that accepts any call (as
/// WETH's does), so a `permit` call to it succeeds and does nothing.
/// @notice FOR TESTS ONLY: anyone can mint. A contract that trusts a silent `permit` and then
/// pulls under a standing allowance would move a user's tokens without their signature.
contract PhantomPermitToken is ERC20 {
    constructor() ERC20("Phantom-permit USD", "pUSD") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints `amount` to `to`. Open to anyone: test use only.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    fallback() external {}
}
