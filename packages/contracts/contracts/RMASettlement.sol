// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title RMA settlement: one contract, many model assets.
/// @notice Each asset settles batches of usage receipts. A batch's revenue is pulled from the
/// asset's settler and split among four roles exactly like `splitRevenue` of the TypeScript
/// core package: supporters, users and protocol each get `floor(revenue * bps / 10000)`, the
/// issuer the rest (its share plus the rounding dust).
///  - Supporters stake the asset's payment token and earn pro rata to active stake through a
///    reward-per-stake accumulator (O(1) per settlement). New stake earns from the next
///    settlement; unbonding stake earns nothing.
///  - Users claim cumulative rebates against the latest rebate Merkle root (OpenZeppelin
///    `StandardMerkleTree` leaves of `(address user, uint256 cumulativeAmount)`).
///  - The issuer and the protocol (the contract owner) claim what they are owed.
/// @dev Rules (see the package README):
///  - Zero-stake rule: a batch whose supporters' share is non-zero cannot settle while no stake
///    is active (`NoActiveStake`); nothing is ever credited to nobody, so nothing is lost.
///  - Dust rule: per-supporter rounding (accumulator floors) stays in the contract as part of
///    what the supporters' role is owed; `supportersFunded - supportersClaimed` covers it.
///  - Unbonding rule: `requestUnstake` stops earning at once; a further request adds to the
///    unbonding amount and restarts the delay; `withdraw` pays everything unbonding after it.
contract RMASettlement is Ownable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @notice Basis points in a whole.
    uint256 public constant BPS = 10_000;
    /// @notice Fixed-point scale of `rewardPerStake` (reward units per staked unit, times 1e18).
    /// With a 160-bit accumulator it overflows only after 1.4e30 reward units per staked unit.
    uint256 public constant REWARD_SCALE = 1e18;
    /// @notice The longest unbonding delay an asset may choose.
    uint64 public constant MAX_UNBONDING_DELAY = 365 days;

    /// @dev Storage of one asset, packed so that `settle` touches as few slots as possible: it
    /// reads and writes slots 0, 2, 4 and 5, writes slot 3 and reads slot 1 (the token).
    /// `claimRebate` reads and writes slot 4 only (funded and claimed side by side).
    struct Asset {
        // slot 0: what settle checks and advances
        address settler;
        uint48 epoch;
        uint16 supportersBps;
        uint16 usersBps;
        uint16 protocolBps;
        // slot 1
        address token;
        uint64 unbondingDelay;
        uint16 issuerBps;
        // slot 2: the accumulator beside the stake it divides by
        uint160 rewardPerStake;
        uint96 totalStake;
        // slot 3
        bytes32 rebateRoot;
        // slot 4
        uint128 rebatesFunded;
        uint128 rebatesClaimed;
        // slot 5
        uint128 supportersFunded;
        uint128 issuerFunded;
        // slot 6
        address issuer;
        // slot 7
        uint128 supportersClaimed;
        uint128 issuerClaimed;
        // slot 8
        uint128 totalUnbonding;
    }

    /// @dev Two slots: stake and unbonding (bounded by `totalStake`'s 96 bits), then the
    /// accumulator snapshot with the rewards credited at the last change of active stake.
    struct Supporter {
        // slot 0
        uint96 active;
        uint96 unbonding;
        uint64 unbondingEnd;
        // slot 1
        uint160 rewardPerStakePaid;
        uint96 accrued;
    }

    struct ProtocolBalance {
        uint128 funded;
        uint128 claimed;
    }

    /// @notice Everything about one asset, as returned by {getAsset}.
    struct AssetView {
        address issuer;
        address token;
        address settler;
        uint16 issuerBps;
        uint16 supportersBps;
        uint16 usersBps;
        uint16 protocolBps;
        uint64 unbondingDelay;
        /// The last settled epoch (0 before the first settlement).
        uint64 epoch;
        uint256 totalStake;
        uint256 totalUnbonding;
        uint256 rewardPerStake;
        bytes32 rebateRoot;
        uint256 issuerOwed;
        /// What the protocol is owed in this asset's token, over all assets paying in it.
        uint256 protocolOwed;
        uint256 rebatesFunded;
        uint256 rebatesClaimed;
        uint256 supportersFunded;
        uint256 supportersClaimed;
        uint256 issuerFunded;
        uint256 issuerClaimed;
    }

    mapping(bytes32 assetId => Asset) private _assets;
    mapping(bytes32 assetId => mapping(address supporter => Supporter)) private _supporters;
    mapping(bytes32 assetId => mapping(address user => uint256)) private _rebateClaimed;
    mapping(bytes32 assetId => mapping(address meter => bool)) private _meters;
    mapping(address token => ProtocolBalance) private _protocol;

    event AssetRegistered(
        bytes32 indexed assetId,
        address indexed issuer,
        address token,
        address settler,
        uint16 issuerBps,
        uint16 supportersBps,
        uint16 usersBps,
        uint16 protocolBps,
        uint64 unbondingDelay
    );
    event MeterSet(bytes32 indexed assetId, address indexed meter, bool allowed);
    event SettlerSet(bytes32 indexed assetId, address indexed settler);
    event Staked(bytes32 indexed assetId, address indexed supporter, uint256 amount);
    event UnstakeRequested(
        bytes32 indexed assetId, address indexed supporter, uint256 amount, uint64 unbondingEnd
    );
    event Withdrawn(bytes32 indexed assetId, address indexed supporter, uint256 amount);
    event RewardsClaimed(bytes32 indexed assetId, address indexed supporter, uint256 amount);
    event Settled(
        bytes32 indexed assetId,
        uint64 indexed epoch,
        uint256 revenue,
        bytes32 receiptsRoot,
        bytes32 rebateRoot,
        uint64 receiptCount,
        string batchUri,
        bytes32 batchHash,
        uint256 issuerAmount,
        uint256 supportersAmount,
        uint256 usersAmount,
        uint256 protocolAmount
    );
    event RebateClaimed(
        bytes32 indexed assetId, address indexed user, uint256 amount, uint256 cumulativeAmount
    );
    event IssuerClaimed(bytes32 indexed assetId, address indexed issuer, uint256 amount);
    event ProtocolClaimed(address indexed token, address indexed to, uint256 amount);

    error InvalidShares();
    error AssetExists();
    error UnknownAsset();
    error ZeroAddress();
    error InvalidUnbondingDelay();
    error NotIssuer();
    error NotSettler();
    error BadEpoch(uint64 expected);
    error NoActiveStake();
    error ZeroAmount();
    error InsufficientStake();
    error StillUnbonding();
    error NothingToWithdraw();
    error InvalidProof();
    error NothingToClaim();
    error RebatesExceedFunded();
    error OwnerRequired();

    /// @param owner_ The protocol fee recipient.
    constructor(address owner_) Ownable(owner_) {}

    /// @notice Disabled: the owner receives the protocol fees, so there is always one.
    /// Ownership can still move with `transferOwnership`.
    function renounceOwnership() public pure override {
        revert OwnerRequired();
    }

    // ---------------------------------------------------------------- assets

    /// @notice Registers an asset; the caller becomes its issuer.
    function registerAsset(
        bytes32 assetId,
        address token,
        address settler,
        uint16 issuerBps,
        uint16 supportersBps,
        uint16 usersBps,
        uint16 protocolBps,
        uint64 unbondingDelay,
        address[] calldata meters
    ) external {
        Asset storage a = _assets[assetId];
        if (a.issuer != address(0)) revert AssetExists();
        if (uint256(issuerBps) + supportersBps + usersBps + protocolBps != BPS) {
            revert InvalidShares();
        }
        if (token == address(0) || settler == address(0)) revert ZeroAddress();
        if (unbondingDelay > MAX_UNBONDING_DELAY) revert InvalidUnbondingDelay();

        a.settler = settler;
        a.supportersBps = supportersBps;
        a.usersBps = usersBps;
        a.protocolBps = protocolBps;
        a.token = token;
        a.unbondingDelay = unbondingDelay;
        a.issuerBps = issuerBps;
        a.issuer = msg.sender;
        emit AssetRegistered(
            assetId,
            msg.sender,
            token,
            settler,
            issuerBps,
            supportersBps,
            usersBps,
            protocolBps,
            unbondingDelay
        );
        emit SettlerSet(assetId, settler);
        for (uint256 i; i < meters.length; ++i) {
            _setMeter(assetId, meters[i], true);
        }
    }

    /// @notice Authorises (or revokes) a meter key of an asset. Only the issuer.
    function setMeter(bytes32 assetId, address meter, bool allowed) external {
        if (_assets[assetId].issuer != msg.sender) revert NotIssuer();
        _setMeter(assetId, meter, allowed);
    }

    /// @notice Replaces the settler of an asset. Only the issuer.
    function setSettler(bytes32 assetId, address settler) external {
        Asset storage a = _assets[assetId];
        if (a.issuer != msg.sender) revert NotIssuer();
        if (settler == address(0)) revert ZeroAddress();
        a.settler = settler;
        emit SettlerSet(assetId, settler);
    }

    /// @notice Whether `meter` may sign usage receipts of the asset.
    function isMeter(bytes32 assetId, address meter) external view returns (bool) {
        return _meters[assetId][meter];
    }

    /// @notice Everything about one asset (zero values for an unknown asset).
    function getAsset(bytes32 assetId) external view returns (AssetView memory v) {
        Asset storage a = _assets[assetId];
        ProtocolBalance storage p = _protocol[a.token];
        v.issuer = a.issuer;
        v.token = a.token;
        v.settler = a.settler;
        v.issuerBps = a.issuerBps;
        v.supportersBps = a.supportersBps;
        v.usersBps = a.usersBps;
        v.protocolBps = a.protocolBps;
        v.unbondingDelay = a.unbondingDelay;
        v.epoch = a.epoch;
        v.totalStake = a.totalStake;
        v.totalUnbonding = a.totalUnbonding;
        v.rewardPerStake = a.rewardPerStake;
        v.rebateRoot = a.rebateRoot;
        v.issuerOwed = a.issuerFunded - a.issuerClaimed;
        v.protocolOwed = p.funded - p.claimed;
        v.rebatesFunded = a.rebatesFunded;
        v.rebatesClaimed = a.rebatesClaimed;
        v.supportersFunded = a.supportersFunded;
        v.supportersClaimed = a.supportersClaimed;
        v.issuerFunded = a.issuerFunded;
        v.issuerClaimed = a.issuerClaimed;
    }

    // ------------------------------------------------------------ settlement

    /// @notice Settles the next epoch of an asset: pulls `revenue` from the settler and splits
    /// it. The receipts root, batch URI and batch hash are only emitted, never stored.
    function settle(
        bytes32 assetId,
        uint64 epoch,
        uint256 revenue,
        bytes32 receiptsRoot,
        bytes32 rebateRoot,
        uint64 receiptCount,
        string calldata batchUri,
        bytes32 batchHash
    ) external nonReentrant {
        Asset storage a = _assets[assetId];
        if (a.settler != msg.sender) revert NotSettler();
        uint64 expected = uint64(a.epoch) + 1;
        if (epoch != expected) revert BadEpoch(expected);

        uint256 supporters = revenue * a.supportersBps / BPS;
        uint256 users = revenue * a.usersBps / BPS;
        uint256 protocol = revenue * a.protocolBps / BPS;
        uint256 issuer = revenue - supporters - users - protocol;

        // The epoch cannot outgrow 48 bits: it only ever increases by one.
        a.epoch = uint48(epoch);
        if (supporters != 0) {
            uint256 totalStake = a.totalStake;
            if (totalStake == 0) revert NoActiveStake();
            uint256 rps = a.rewardPerStake + supporters * REWARD_SCALE / totalStake;
            a.rewardPerStake = rps.toUint160();
        }
        a.rebateRoot = rebateRoot;
        a.rebatesFunded += users.toUint128();
        a.supportersFunded += supporters.toUint128();
        a.issuerFunded += issuer.toUint128();
        address token = a.token;
        if (protocol != 0) _protocol[token].funded += protocol.toUint128();
        if (revenue != 0) IERC20(token).safeTransferFrom(msg.sender, address(this), revenue);

        emit Settled(
            assetId,
            epoch,
            revenue,
            receiptsRoot,
            rebateRoot,
            receiptCount,
            batchUri,
            batchHash,
            issuer,
            supporters,
            users,
            protocol
        );
    }

    // -------------------------------------------------------------- supporters

    /// @notice Stakes `amount` of the asset's payment token. It earns from the next settlement.
    function stake(bytes32 assetId, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Asset storage a = _assets[assetId];
        address token = a.token;
        if (token == address(0)) revert UnknownAsset();
        Supporter storage s = _supporters[assetId][msg.sender];
        _accrue(a, s);
        a.totalStake = (a.totalStake + amount).toUint96();
        s.active += uint96(amount);
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        emit Staked(assetId, msg.sender, amount);
    }

    /// @notice Moves `amount` of active stake to unbonding: it stops earning at once and can be
    /// withdrawn after the asset's delay. A further request restarts the delay for everything
    /// unbonding.
    function requestUnstake(bytes32 assetId, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Asset storage a = _assets[assetId];
        Supporter storage s = _supporters[assetId][msg.sender];
        if (amount > s.active) revert InsufficientStake();
        _accrue(a, s);
        s.active -= uint96(amount);
        s.unbonding += uint96(amount);
        a.totalStake -= uint96(amount);
        a.totalUnbonding += uint128(amount);
        uint64 end = uint64(block.timestamp) + a.unbondingDelay;
        s.unbondingEnd = end;
        emit UnstakeRequested(assetId, msg.sender, amount, end);
    }

    /// @notice Pays out everything unbonding once its delay has passed.
    function withdraw(bytes32 assetId) external nonReentrant {
        Supporter storage s = _supporters[assetId][msg.sender];
        uint256 amount = s.unbonding;
        if (amount == 0) revert NothingToWithdraw();
        if (block.timestamp < s.unbondingEnd) revert StillUnbonding();
        Asset storage a = _assets[assetId];
        s.unbonding = 0;
        s.unbondingEnd = 0;
        a.totalUnbonding -= uint128(amount);
        IERC20(a.token).safeTransfer(msg.sender, amount);
        emit Withdrawn(assetId, msg.sender, amount);
    }

    /// @notice Pays the caller's supporter rewards.
    function claimRewards(bytes32 assetId) external nonReentrant {
        Asset storage a = _assets[assetId];
        Supporter storage s = _supporters[assetId][msg.sender];
        (uint160 rps, uint256 earned) = _earned(a, s);
        uint256 accrued = s.accrued;
        uint256 amount = accrued + earned;
        if (amount == 0) revert NothingToClaim();
        s.rewardPerStakePaid = rps;
        s.accrued = 0;
        a.supportersClaimed += uint128(amount);
        IERC20(a.token).safeTransfer(msg.sender, amount);
        emit RewardsClaimed(assetId, msg.sender, amount);
    }

    /// @notice A supporter's stake: active (earning), unbonding, and when unbonding ends.
    function stakeOf(bytes32 assetId, address supporter)
        external
        view
        returns (uint256 active, uint256 unbonding, uint64 unbondingEnd)
    {
        Supporter storage s = _supporters[assetId][supporter];
        return (s.active, s.unbonding, s.unbondingEnd);
    }

    /// @notice Rewards a supporter could claim now.
    function claimableRewards(bytes32 assetId, address supporter) external view returns (uint256) {
        (, uint256 earned) = _earned(_assets[assetId], _supporters[assetId][supporter]);
        return _supporters[assetId][supporter].accrued + earned;
    }

    // ------------------------------------------------------------------ claims

    /// @notice Pays `user` their cumulative rebate minus what they already claimed. Anyone may
    /// submit; the tokens always go to `user`.
    function claimRebate(
        bytes32 assetId,
        address user,
        uint256 cumulativeAmount,
        bytes32[] calldata proof
    ) external nonReentrant {
        Asset storage a = _assets[assetId];
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(user, cumulativeAmount))));
        if (!MerkleProof.verifyCalldata(proof, a.rebateRoot, leaf)) revert InvalidProof();
        uint256 claimed = _rebateClaimed[assetId][user];
        if (cumulativeAmount <= claimed) revert NothingToClaim();
        uint256 amount = cumulativeAmount - claimed;
        uint256 total = a.rebatesClaimed + amount;
        if (total > a.rebatesFunded) revert RebatesExceedFunded();
        _rebateClaimed[assetId][user] = cumulativeAmount;
        a.rebatesClaimed = uint128(total);
        IERC20(a.token).safeTransfer(user, amount);
        emit RebateClaimed(assetId, user, amount, cumulativeAmount);
    }

    /// @notice The cumulative rebate already paid to `user`.
    function rebateClaimed(bytes32 assetId, address user) external view returns (uint256) {
        return _rebateClaimed[assetId][user];
    }

    /// @notice Pays the issuer what it is owed. Anyone may submit; the tokens go to the issuer.
    function claimIssuer(bytes32 assetId) external nonReentrant {
        Asset storage a = _assets[assetId];
        uint128 amount = a.issuerFunded - a.issuerClaimed;
        if (amount == 0) revert NothingToClaim();
        a.issuerClaimed += amount;
        address issuer = a.issuer;
        IERC20(a.token).safeTransfer(issuer, amount);
        emit IssuerClaimed(assetId, issuer, amount);
    }

    /// @notice Pays the owner the protocol fees owed in `token`. Anyone may submit.
    function claimProtocol(address token) external nonReentrant {
        ProtocolBalance storage p = _protocol[token];
        uint128 amount = p.funded - p.claimed;
        if (amount == 0) revert NothingToClaim();
        p.claimed += amount;
        address to = owner();
        IERC20(token).safeTransfer(to, amount);
        emit ProtocolClaimed(token, to, amount);
    }

    /// @notice Protocol fees owed in `token` (all assets paying in it).
    function protocolOwed(address token) external view returns (uint256) {
        ProtocolBalance storage p = _protocol[token];
        return p.funded - p.claimed;
    }

    // ---------------------------------------------------------------- internal

    function _setMeter(bytes32 assetId, address meter, bool allowed) private {
        if (meter == address(0)) revert ZeroAddress();
        _meters[assetId][meter] = allowed;
        emit MeterSet(assetId, meter, allowed);
    }

    /// @dev The accumulator now and what the supporter's active stake earned since its snapshot.
    function _earned(Asset storage a, Supporter storage s)
        private
        view
        returns (uint160 rps, uint256 earned)
    {
        rps = a.rewardPerStake;
        earned = uint256(s.active) * (rps - s.rewardPerStakePaid) / REWARD_SCALE;
    }

    /// @dev Credits what active stake earned since the last snapshot and snapshots the
    /// accumulator; runs before any change to the supporter's active stake.
    function _accrue(Asset storage a, Supporter storage s) private {
        (uint160 rps, uint256 earned) = _earned(a, s);
        if (rps == s.rewardPerStakePaid) return;
        // Credits above 2^96 revert here: such a supporter claims first (claimRewards pays
        // without crediting), then changes stake.
        s.accrued = (s.accrued + earned).toUint96();
        s.rewardPerStakePaid = rps;
    }
}
