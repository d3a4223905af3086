// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Finding} from "./RMAFraudVerifier.sol";
import {
    COUNT_SHIFT, FLAGS, FROZEN, MAX_PENDING_BATCHES, RMASettlement, SLASHED, VETOED
} from "./RMASettlement.sol";

/// @title The penalty of a proven fraud, for {RMASettlement}.
/// @notice An external library, linked into `RMASettlement` at deployment and run by
/// DELEGATECALL on the settlement contract's storage: it keeps the contract under the EIP-170
/// code size limit. Only the settlement contract calls it meaningfully (a direct call touches
/// the library's own, empty, storage). Its events are the settlement contract's (declared
/// there, so they are in its ABI, and logged at its address).
library RMAPenalty {
    using SafeERC20 for IERC20;

    uint256 private constant MAX_AMOUNT = type(uint112).max;
    /// @dev `FraudProven.kind` of a mispricing (1 equivocation, 2 overcharge).
    uint8 private constant FRAUD_MISPRICING = 3;

    /// @dev The settlement contract's fraud proofs (`proveEquivocation`, `proveOvercharge`,
    /// `proveMispricing`; `data` is their calldata, `kind` 1 to 3): has the verifier check the
    /// proof (the calldata, whose signature it shares, under the settlement contract's domain),
    /// then checks what needs state: a meter ever authorised for the asset, the window, a
    /// committed price table, one payment per chain position. Then punishes: the user's
    /// compensation C and the challenger's bounty B = max(C, minBondOf(token) / 10) come from
    /// the bond, then from the supporters' active and unbonding stake pro rata (pending stake is
    /// not at risk yet); when both fall short the user is paid first (both by transfer). The
    /// meter is revoked, the asset frozen and its pending batches vetoed. The arguments are the
    /// settlement contract's storage mappings of the same names.
    function prove(
        mapping(bytes32 => RMASettlement.Asset) storage assets,
        mapping(bytes32 => RMASettlement.Risk) storage risks,
        mapping(bytes32 => mapping(uint256 => RMASettlement.Slash)) storage slashes,
        mapping(bytes32 => mapping(address => bool)) storage meters,
        mapping(bytes32 => mapping(address => bool)) storage everMeter,
        mapping(bytes32 => mapping(uint256 => uint256)) storage batchRecords,
        mapping(bytes32 => mapping(uint256 => uint256)) storage epochRebates,
        mapping(bytes32 => mapping(bytes32 => uint256)) storage priceTables,
        mapping(address => uint256) storage minBonds,
        mapping(bytes32 => bool) storage proven,
        address verifier,
        uint256 proofWindow,
        bytes calldata data,
        uint8 kind
    ) external {
        (bool ok, bytes memory ret) = verifier.staticcall(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
        Finding memory f = abi.decode(ret, (Finding));
        bytes32 assetId = f.assetId;
        if (!everMeter[assetId][f.meter]) revert RMASettlement.MeterNotAuthorised();
        if (uint256(f.timestamp) + proofWindow < block.timestamp) {
            revert RMASettlement.ReceiptTooOld();
        }
        if (kind == FRAUD_MISPRICING && priceTables[assetId][f.priceTable] == 0) {
            revert RMASettlement.PriceTableNotCommitted();
        }
        bytes32 position = keccak256(abi.encode(assetId, f.meter, f.user, f.seq));
        if (proven[position]) revert RMASettlement.AlreadyProven();
        proven[position] = true;

        RMASettlement.Asset storage a = assets[assetId];
        a.status |= FROZEN;
        RMASettlement.Risk storage k = risks[assetId];
        address token = a.token;
        (uint256 toUser, uint256 toChallenger) =
            _penalise(a, k, slashes[assetId], f.compensation, minBonds[token]);
        mapping(address => bool) storage assetMeters = meters[assetId];
        if (assetMeters[f.meter]) {
            setMeter(assetId, assetMeters, everMeter[assetId], k, f.meter, false);
        }
        _vetoPending(assetId, a, batchRecords[assetId], epochRebates[assetId]);
        emit RMASettlement.FraudProven(
            assetId, f.meter, f.user, kind, f.receiptHash, toUser, toChallenger, msg.sender
        );
        if (toUser != 0) IERC20(token).safeTransfer(f.user, toUser);
        if (toChallenger != 0) IERC20(token).safeTransfer(msg.sender, toChallenger);
    }

    /// @dev Authorises or revokes a meter and keeps the fraud books: every meter ever
    /// authorised (its receipts stay provable after it is revoked), how many are authorised
    /// now and when the last was revoked (the bond's exit rule). Internal: inlined into the
    /// settlement contract's `setMeter` and into {punish}.
    function setMeter(
        bytes32 assetId,
        mapping(address => bool) storage meters,
        mapping(address => bool) storage everMeter,
        RMASettlement.Risk storage k,
        address meter,
        bool allowed
    ) internal {
        if (meter == address(0)) revert RMASettlement.ZeroAddress();
        if (meters[meter] != allowed) {
            if (allowed) {
                ++k.meters;
                everMeter[meter] = true;
            } else {
                --k.meters;
                k.lastRevocation = uint64(block.timestamp);
            }
            meters[meter] = allowed;
        }
        emit RMASettlement.MeterSet(assetId, meter, allowed);
    }

    /// @dev Takes C + B from the bond, then the stake; returns what the user and the
    /// challenger get (the user first).
    function _penalise(
        RMASettlement.Asset storage a,
        RMASettlement.Risk storage k,
        mapping(uint256 => RMASettlement.Slash) storage slashes,
        uint256 compensation,
        uint256 minBond
    ) private returns (uint256 toUser, uint256 toChallenger) {
        if (compensation > MAX_AMOUNT) compensation = MAX_AMOUNT;
        uint256 minimumBounty = minBond / 10;
        uint256 due = compensation + (compensation > minimumBounty ? compensation : minimumBounty);
        uint256 bond = k.bond;
        uint256 fromBond = due < bond ? due : bond;
        k.bond = uint112(bond - fromBond);
        uint256 taken = fromBond + _slashStake(a, k, slashes, due - fromBond);
        k.totalSlashed = uint112(k.totalSlashed + taken);
        toUser = taken < compensation ? taken : compensation;
        toChallenger = taken - toUser;
    }

    /// @dev Takes up to `wanted` from the active and unbonding stake pro rata: the totals are
    /// scaled by (T - x) / T (rounded down) and the slash is recorded for the settlement
    /// contract's `_synced` to apply to each supporter the same way (each rounded down, so
    /// their sum never exceeds the totals). Rounding the two totals down can take 1 unit more
    /// than x: it goes to the protocol's owed amount (`Risk.slashDust`, which the settlement
    /// contract adds to `protocolFunded` wherever it reads it). The record is one slot and the count lives
    /// in the risk slot the meter's revocation writes (see `RMASettlement.Slash` and `Risk`).
    function _slashStake(
        RMASettlement.Asset storage a,
        RMASettlement.Risk storage k,
        mapping(uint256 => RMASettlement.Slash) storage slashes,
        uint256 wanted
    ) private returns (uint256 taken) {
        uint256 active = a.totalStake;
        uint256 unbonding = a.totalUnbonding;
        uint256 total = active + unbonding;
        if (wanted == 0 || total == 0) return 0;
        taken = wanted < total ? wanted : total;
        uint256 num = total - taken;
        uint256 activeLeft = active * num / total;
        uint256 unbondingLeft = unbonding * num / total;
        a.totalStake = uint96(activeLeft);
        a.totalUnbonding = uint96(unbondingLeft);
        // total < 2^96 by the stake bound ({RMASettlement-stake}); checked all the same, so a
        // record can never be truncated.
        if (total > type(uint96).max) revert RMASettlement.AmountTooLarge(type(uint96).max);
        // Checked: the 2^32nd slash of an asset reverts instead of wrapping the count.
        uint256 index = k.slashes++;
        slashes[index] = RMASettlement.Slash(uint96(num), uint96(total), a.epoch);
        a.status |= SLASHED;
        // 0 or 1 (two floors of a split of x): at most one unit per slash, below 2^32.
        uint256 dust = active - activeLeft + unbonding - unbondingLeft - taken;
        if (dust != 0) k.slashDust += uint32(dust);
    }

    /// @dev Vetoes every pending batch of the asset: each one's revenue goes back to the
    /// current settler's deposit (so a corrected batch can be settled once the asset resumes)
    /// and its rebate root never becomes claimable. Its epoch stays used. Never reverts: past
    /// the deposit bound (2^112 - 1) the excess is left to `skim`.
    function _vetoPending(
        bytes32 assetId,
        RMASettlement.Asset storage a,
        mapping(uint256 => uint256) storage records,
        mapping(uint256 => uint256) storage epochRebates
    ) private {
        uint8 status = a.status;
        uint256 count = status >> COUNT_SHIFT;
        if (count == 0) return;
        uint256 last = a.epoch;
        uint256 refund;
        for (uint256 e = last + 1 - count; e <= last; ++e) {
            uint256 revenue = uint112(records[e % MAX_PENDING_BATCHES]);
            refund += revenue;
            epochRebates[e] = VETOED;
            emit RMASettlement.BatchVetoed(assetId, uint64(e), revenue);
        }
        uint256 room = MAX_AMOUNT - a.otherDeposits - a.settlerDeposit;
        a.settlerDeposit += uint112(refund < room ? refund : room);
        a.status = status & FLAGS;
    }
}
