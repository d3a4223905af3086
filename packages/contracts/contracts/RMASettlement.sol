// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @title RMA settlement: one contract, many model assets.
/// @notice Each asset settles batches of usage receipts. A batch's revenue is pulled from the
/// asset's settler (or taken from its deposit) and split among four roles exactly like
/// `splitRevenue` of the TypeScript core package: supporters, users and protocol each get
/// `floor(revenue * bps / 10000)`, the issuer the rest (its share plus the rounding dust).
/// The rules below are the package README's **Decision:** entries, in short:
///  - Amounts are credited as measured balance changes; every asset keeps its own books and
///    pays out only against them, so one asset never touches another's funds in the same token.
///  - Rebates are per epoch: each settle posts the root of that epoch's rebates only, funded
///    with that epoch's users' share; a root is never replaced and claims against an epoch pay
///    at most its funding.
///  - New stake is pending until the next settle and earns from the one after (it sits through
///    a whole epoch before it earns); unbonding is at least `MIN_UNBONDING_DELAY`.
///  - A settle credits supporters at most their active stake (a 100%-per-epoch ceiling); the
///    rest of their share is held and released under the same ceiling at later settles, so
///    settlement never stops for lack of stake and dust stake cannot capture a held share.
contract RMASettlement is Ownable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Basis points in a whole.
    uint256 public constant BPS = 10_000;
    /// @notice Fixed-point scale of `rewardPerStake`. With stake below 2^96 an increment is at
    /// least 1 for any credit of 1 base unit, so no batch's share rounds away.
    uint256 public constant REWARD_SCALE = 1e36;
    /// @notice The shortest unbonding delay an asset may choose.
    uint64 public constant MIN_UNBONDING_DELAY = 1 days;
    /// @notice The longest unbonding delay an asset may choose.
    uint64 public constant MAX_UNBONDING_DELAY = 365 days;
    /// @notice Bound of stake per asset (active + pending + unbonding) and of one epoch's
    /// users' share (2^96 - 1 base units).
    uint256 public constant MAX_STAKE = type(uint96).max;
    /// @notice Bound of one batch's revenue and of any role's owed amount (2^112 - 1 units).
    uint256 public constant MAX_AMOUNT = type(uint112).max;

    uint256 private constant AMOUNT_MASK = type(uint96).max;

    /// @dev One asset. A steady-state `settle` reads slot 0, reads and writes slots 1, 2 and 3
    /// and writes one fresh slot of the epoch's rebates; it pays from the current settler's
    /// deposit (slot 2) when that covers the batch, else reads the token (slot 5) and pulls.
    /// Slot 4 is read only when a flag of slot 2 says it holds something, slot 9 only by an
    /// asset with a protocol fee. The current settler's deposit lives in slot 2 and every other
    /// account's in `_deposits` (so `_deposits[assetId][settler]` is always 0; `setSettler`
    /// moves the two). Cumulative funded/claimed counters wrap modulo 2^112 (rebates: 2^96);
    /// what is owed is their difference, exact while it stays below that bound, so no counter
    /// can brick a settle.
    struct Asset {
        // slot 0: read by settle
        address settler;
        uint16 issuerBps;
        uint16 supportersBps;
        uint16 usersBps;
        uint16 protocolBps;
        uint32 unbondingDelay;
        // slot 1: read and written by settle
        uint32 epoch;
        uint112 issuerFunded;
        uint112 supportersFunded;
        // slot 2: read and written by settle
        uint96 rebatesFunded;
        uint112 settlerDeposit;
        bool hasPending;
        bool hasHeld;
        // slot 3: the accumulator beside the active stake it divides by
        uint160 rewardPerStake;
        uint96 totalStake;
        // slot 4
        uint96 pendingStake;
        uint112 held;
        // slot 5: what a rebate claim reads and writes
        address token;
        uint96 rebatesClaimed;
        // slot 6
        address issuer;
        // slot 7
        address pendingIssuer;
        // slot 8
        uint112 issuerClaimed;
        uint112 supportersClaimed;
        // slot 9: read and written by settle only when the asset charges a protocol fee
        uint112 protocolFunded;
        uint112 protocolClaimed;
        // slot 10
        uint96 totalUnbonding;
        uint112 otherDeposits;
    }

    /// @dev Three slots: stake (active, pending and the epoch at whose settle it activates),
    /// the accumulator snapshot with the rewards credited so far, and unbonding.
    struct Supporter {
        // slot 0
        uint96 active;
        uint96 pending;
        uint32 pendingEpoch;
        // slot 1
        uint160 rewardPerStakePaid;
        uint96 accrued;
        // slot 2
        uint96 unbonding;
        uint64 unbondingEnd;
    }

    /// @dev One epoch's rebates: adjacent slots, so a claim hashes their location once.
    struct EpochRebates {
        // the first 20 bytes of the root, then the funding (96 bits); written once, by settle
        uint256 rootAndFunded;
        // claimed so far
        uint256 claimed;
    }

    /// @notice One epoch's rebate claim of a user, for {claimRebates}.
    struct RebateClaim {
        uint64 epoch;
        uint256 amount;
        bytes32[] proof;
    }

    /// @notice Everything about one asset, as returned by {getAsset}. Every amount is this
    /// asset's own; `*Funded` and `*Claimed` are cumulative modulo 2^112.
    struct AssetView {
        address issuer;
        /// The account that may accept the issuer role (zero when none is offered).
        address pendingIssuer;
        address token;
        address settler;
        uint16 issuerBps;
        uint16 supportersBps;
        uint16 usersBps;
        uint16 protocolBps;
        uint64 unbondingDelay;
        /// The last settled epoch (0 before the first settlement).
        uint64 epoch;
        /// Active stake: what the next settle's supporters' share is divided by.
        uint256 totalStake;
        /// Stake that activates at the next settle (and earns from the one after).
        uint256 pendingStake;
        uint256 totalUnbonding;
        uint256 rewardPerStake;
        /// The supporters' share waiting for active stake (part of supporters' owed).
        uint256 heldForSupporters;
        uint256 issuerOwed;
        uint256 protocolOwed;
        uint256 rebatesFunded;
        uint256 rebatesClaimed;
        uint256 supportersFunded;
        uint256 supportersClaimed;
        uint256 issuerFunded;
        uint256 issuerClaimed;
        uint256 protocolFunded;
        uint256 protocolClaimed;
        /// Settlers' deposits for future batches (see {deposit}).
        uint256 deposits;
        /// Everything the asset owes: stake, every role's owed amount and the deposits.
        uint256 ledger;
    }

    mapping(bytes32 assetId => Asset) private _assets;
    mapping(bytes32 assetId => mapping(address supporter => Supporter)) private _supporters;
    mapping(bytes32 assetId => mapping(uint256 epoch => EpochRebates)) private _epochRebates;
    /// @dev One bit per epoch: whether the user claimed that epoch's rebate.
    mapping(bytes32 assetId => mapping(address user => mapping(uint256 word => uint256))) private
        _rebateBits;
    /// @dev The accumulator right after the settle at which pending stake activated; written
    /// only for epochs where stake was pending.
    mapping(bytes32 assetId => mapping(uint256 epoch => uint256)) private _activation;
    mapping(bytes32 assetId => mapping(address meter => bool)) private _meters;
    mapping(bytes32 assetId => mapping(address settler => uint256)) private _deposits;
    /// @dev How many assets are paid in each token (so `skim` can check it sees all of them).
    mapping(address token => uint256) private _assetCount;

    event AssetRegistered(
        bytes32 indexed assetId,
        address indexed issuer,
        bytes32 salt,
        address token,
        address settler,
        uint16 issuerBps,
        uint16 supportersBps,
        uint16 usersBps,
        uint16 protocolBps,
        uint64 unbondingDelay
    );
    event MeterSet(bytes32 indexed assetId, address indexed meter, bool allowed);
    event SettlerSet(bytes32 indexed assetId, address indexed previousSettler, address indexed settler);
    event IssuerTransferStarted(
        bytes32 indexed assetId, address indexed issuer, address indexed pendingIssuer
    );
    event IssuerTransferred(
        bytes32 indexed assetId, address indexed previousIssuer, address indexed issuer
    );
    event Staked(
        bytes32 indexed assetId, address indexed supporter, uint256 amount, uint64 activationEpoch
    );
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
    /// @notice The supporters' share held for later (emitted only when it changes).
    event SupportersShareHeld(bytes32 indexed assetId, uint64 indexed epoch, uint256 held);
    event RebateClaimed(
        bytes32 indexed assetId, uint64 indexed epoch, address indexed user, uint256 amount
    );
    event IssuerClaimed(bytes32 indexed assetId, address indexed issuer, uint256 amount);
    event ProtocolClaimed(bytes32 indexed assetId, address indexed to, uint256 amount);
    event Deposited(bytes32 indexed assetId, address indexed settler, uint256 amount);
    event DepositWithdrawn(bytes32 indexed assetId, address indexed settler, uint256 amount);
    event Skimmed(address indexed token, address indexed to, uint256 amount);

    error InvalidShares();
    error AssetExists();
    error UnknownAsset();
    error ZeroAddress();
    error InvalidUnbondingDelay();
    error NotIssuer();
    error NotPendingIssuer();
    error NotSettler();
    error BadEpoch(uint64 expected);
    error ZeroAmount();
    error AmountTooLarge(uint256 max);
    error InsufficientStake();
    error StillUnbonding();
    error NothingToWithdraw();
    error InvalidProof();
    error RebateAlreadyClaimed(uint64 epoch);
    error NothingToClaim();
    error RebatesExceedFunded(uint64 epoch);
    error MissingRebateRoot();
    error InsufficientDeposit(uint256 available);
    error IncompleteAssetList(uint256 expected);
    error NothingToSkim();
    error OwnerRequired();

    /// @param owner_ The protocol fee recipient.
    constructor(address owner_) Ownable(owner_) {}

    /// @notice Disabled: the owner receives the protocol fees, so there is always one.
    /// Ownership can still move with `transferOwnership`.
    function renounceOwnership() public pure override {
        revert OwnerRequired();
    }

    // ---------------------------------------------------------------- assets

    /// @notice The asset id `issuer` gets for `salt`: ids are namespaced by their issuer, so no
    /// one can register an id before its issuer does.
    function assetIdOf(address issuer, bytes32 salt) public pure returns (bytes32) {
        return keccak256(abi.encode(issuer, salt));
    }

    /// @notice Registers an asset with id `assetIdOf(msg.sender, salt)`; the caller becomes its
    /// issuer.
    function registerAsset(
        bytes32 salt,
        address token,
        address settler,
        uint16 issuerBps,
        uint16 supportersBps,
        uint16 usersBps,
        uint16 protocolBps,
        uint64 unbondingDelay,
        address[] calldata meters
    ) external returns (bytes32 assetId) {
        assetId = assetIdOf(msg.sender, salt);
        Asset storage a = _assets[assetId];
        if (a.issuer != address(0)) revert AssetExists();
        if (uint256(issuerBps) + supportersBps + usersBps + protocolBps != BPS) {
            revert InvalidShares();
        }
        if (token == address(0) || settler == address(0)) revert ZeroAddress();
        if (unbondingDelay < MIN_UNBONDING_DELAY || unbondingDelay > MAX_UNBONDING_DELAY) {
            revert InvalidUnbondingDelay();
        }

        a.settler = settler;
        a.issuerBps = issuerBps;
        a.supportersBps = supportersBps;
        a.usersBps = usersBps;
        a.protocolBps = protocolBps;
        a.unbondingDelay = uint32(unbondingDelay);
        a.token = token;
        a.issuer = msg.sender;
        ++_assetCount[token];
        emit AssetRegistered(
            assetId,
            msg.sender,
            salt,
            token,
            settler,
            issuerBps,
            supportersBps,
            usersBps,
            protocolBps,
            unbondingDelay
        );
        emit SettlerSet(assetId, address(0), settler);
        for (uint256 i; i < meters.length; ++i) {
            _setMeter(assetId, meters[i], true);
        }
    }

    /// @notice Authorises (or revokes) a meter key of an asset, at once. Only the issuer.
    function setMeter(bytes32 assetId, address meter, bool allowed) external {
        if (_assets[assetId].issuer != msg.sender) revert NotIssuer();
        _setMeter(assetId, meter, allowed);
    }

    /// @notice Replaces the settler of an asset, at once. Only the issuer. A settler can only
    /// distribute what it pays in, so no delay protects anything.
    function setSettler(bytes32 assetId, address settler) external {
        Asset storage a = _assets[assetId];
        if (a.issuer != msg.sender) revert NotIssuer();
        if (settler == address(0)) revert ZeroAddress();
        address previous = a.settler;
        emit SettlerSet(assetId, previous, settler);
        if (settler == previous) return;
        // The outgoing settler's deposit stays its own (in `_deposits`); the incoming one's
        // moves into the slot settle reads.
        uint256 outgoing = a.settlerDeposit;
        uint256 incoming = _deposits[assetId][settler];
        if (outgoing != 0) _deposits[assetId][previous] = outgoing;
        if (incoming != 0) _deposits[assetId][settler] = 0;
        if (outgoing != incoming) {
            a.otherDeposits = uint112(a.otherDeposits + outgoing - incoming);
            a.settlerDeposit = uint112(incoming);
        }
        a.settler = settler;
    }

    /// @notice Offers the issuer role to `newIssuer` (zero withdraws the offer). Only the issuer.
    /// The role, and what it is owed, moves when `newIssuer` calls {acceptIssuer}.
    function transferIssuer(bytes32 assetId, address newIssuer) external {
        Asset storage a = _assets[assetId];
        if (a.issuer != msg.sender) revert NotIssuer();
        a.pendingIssuer = newIssuer;
        emit IssuerTransferStarted(assetId, msg.sender, newIssuer);
    }

    /// @notice Accepts the issuer role offered by {transferIssuer}.
    function acceptIssuer(bytes32 assetId) external {
        Asset storage a = _assets[assetId];
        if (msg.sender != a.pendingIssuer || msg.sender == address(0)) revert NotPendingIssuer();
        address previous = a.issuer;
        a.issuer = msg.sender;
        a.pendingIssuer = address(0);
        emit IssuerTransferred(assetId, previous, msg.sender);
    }

    /// @notice Whether `meter` may sign usage receipts of the asset.
    function isMeter(bytes32 assetId, address meter) external view returns (bool) {
        return _meters[assetId][meter];
    }

    /// @notice Everything about one asset (zero values for an unknown asset).
    function getAsset(bytes32 assetId) external view returns (AssetView memory v) {
        Asset storage a = _assets[assetId];
        v.issuer = a.issuer;
        v.pendingIssuer = a.pendingIssuer;
        v.token = a.token;
        v.settler = a.settler;
        v.issuerBps = a.issuerBps;
        v.supportersBps = a.supportersBps;
        v.usersBps = a.usersBps;
        v.protocolBps = a.protocolBps;
        v.unbondingDelay = a.unbondingDelay;
        v.epoch = a.epoch;
        v.totalStake = a.totalStake;
        v.pendingStake = a.pendingStake;
        v.totalUnbonding = a.totalUnbonding;
        v.rewardPerStake = a.rewardPerStake;
        v.heldForSupporters = a.held;
        v.issuerFunded = a.issuerFunded;
        v.issuerClaimed = a.issuerClaimed;
        v.protocolFunded = a.protocolFunded;
        v.protocolClaimed = a.protocolClaimed;
        v.rebatesFunded = a.rebatesFunded;
        v.rebatesClaimed = a.rebatesClaimed;
        v.supportersFunded = a.supportersFunded;
        v.supportersClaimed = a.supportersClaimed;
        v.issuerOwed = _owed(a.issuerFunded, a.issuerClaimed);
        v.protocolOwed = _owed(a.protocolFunded, a.protocolClaimed);
        v.deposits = uint256(a.settlerDeposit) + a.otherDeposits;
        v.ledger = _ledger(a);
    }

    /// @notice Everything the asset owes in its token: active, pending and unbonding stake,
    /// every role's owed amount (held supporters' share and rounding dust included) and the
    /// settlers' deposits. The contract's balance of a token covers the ledgers of all assets
    /// paid in it.
    function ledgerOf(bytes32 assetId) external view returns (uint256) {
        return _ledger(_assets[assetId]);
    }

    // ------------------------------------------------------------ settlement

    /// @notice Settles the next epoch of an asset: takes `revenue` from the settler's deposit
    /// when it covers it, else pulls it with `transferFrom`, and splits what arrived.
    /// `rebateRoot` is the root of this epoch's rebates only (leaves `(user, amount)`); it is
    /// funded with this epoch's users' share and never replaced. The receipts root, batch URI
    /// and batch hash are only emitted. `Settled.revenue` is the amount credited (less than
    /// `revenue` for a fee-on-transfer token).
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
        uint256 next = uint256(a.epoch) + 1;
        if (epoch != next) revert BadEpoch(uint64(next));

        uint256 received;
        if (revenue != 0) {
            // Slot 2, which settle reads and writes anyway: the caller is the settler.
            uint256 deposit = a.settlerDeposit;
            if (deposit >= revenue) {
                a.settlerDeposit = uint112(deposit - revenue);
                received = revenue;
            } else {
                received = _pull(a.token, revenue);
            }
            if (received > MAX_AMOUNT) revert AmountTooLarge(MAX_AMOUNT);
        }

        uint256 supporters = received * a.supportersBps / BPS;
        uint256 users = received * a.usersBps / BPS;
        uint256 protocol = received * a.protocolBps / BPS;
        uint256 issuer = received - supporters - users - protocol;

        // 2^32 - 1 epochs: one a minute for 8,000 years.
        a.epoch = uint32(next);
        unchecked {
            a.issuerFunded += uint112(issuer);
            a.supportersFunded += uint112(supporters);
            if (users != 0) a.rebatesFunded += uint96(users);
            if (protocol != 0) a.protocolFunded += uint112(protocol);
        }
        if (users != 0) {
            if (users > AMOUNT_MASK) revert AmountTooLarge(AMOUNT_MASK);
            if (bytes20(rebateRoot) == bytes20(0)) revert MissingRebateRoot();
            _epochRebates[assetId][next].rootAndFunded = (uint256(rebateRoot) & ~AMOUNT_MASK) | users;
        }
        _creditSupporters(assetId, a, next, supporters);

        emit Settled(
            assetId,
            epoch,
            received,
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

    /// @notice Deposits `amount` for the caller's future batches of an asset (credited as
    /// measured): a settle that finds a deposit takes its revenue from it instead of pulling.
    function deposit(bytes32 assetId, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Asset storage a = _assets[assetId];
        address token = a.token;
        if (token == address(0)) revert UnknownAsset();
        uint256 received = _pull(token, amount);
        uint256 settlerDeposit = a.settlerDeposit;
        uint256 others = a.otherDeposits;
        if (settlerDeposit + others + received > MAX_AMOUNT) revert AmountTooLarge(MAX_AMOUNT);
        if (msg.sender == a.settler) {
            a.settlerDeposit = uint112(settlerDeposit + received);
        } else {
            a.otherDeposits = uint112(others + received);
            _deposits[assetId][msg.sender] += received;
        }
        emit Deposited(assetId, msg.sender, received);
    }

    /// @notice Pays back `amount` of the caller's deposit. Any depositor, at any time.
    function withdrawDeposit(bytes32 assetId, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Asset storage a = _assets[assetId];
        bool isSettler = msg.sender == a.settler;
        uint256 available = isSettler ? a.settlerDeposit : _deposits[assetId][msg.sender];
        if (amount > available) revert InsufficientDeposit(available);
        unchecked {
            if (isSettler) {
                a.settlerDeposit = uint112(available - amount);
            } else {
                _deposits[assetId][msg.sender] = available - amount;
                a.otherDeposits -= uint112(amount);
            }
        }
        IERC20(a.token).safeTransfer(msg.sender, amount);
        emit DepositWithdrawn(assetId, msg.sender, amount);
    }

    /// @notice An account's deposit for an asset.
    function depositOf(bytes32 assetId, address settler) external view returns (uint256) {
        Asset storage a = _assets[assetId];
        return settler == a.settler ? a.settlerDeposit : _deposits[assetId][settler];
    }

    // -------------------------------------------------------------- supporters

    /// @notice Stakes `amount` of the asset's payment token (credited as measured). It is
    /// pending until the next settle and earns from the settle after it.
    function stake(bytes32 assetId, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Asset storage a = _assets[assetId];
        address token = a.token;
        if (token == address(0)) revert UnknownAsset();
        Supporter storage s = _supporters[assetId][msg.sender];
        _sync(assetId, a, s);
        uint256 received = _pull(token, amount);
        if (received == 0) revert ZeroAmount();
        uint256 pending = a.pendingStake + received;
        if (pending + a.totalStake + a.totalUnbonding > MAX_STAKE) revert AmountTooLarge(MAX_STAKE);
        a.pendingStake = uint96(pending);
        a.hasPending = true;
        uint32 activation = a.epoch + 1;
        s.pending += uint96(received);
        s.pendingEpoch = activation;
        emit Staked(assetId, msg.sender, received, activation);
    }

    /// @notice Moves `amount` of stake to unbonding, pending stake first: it stops earning at
    /// once and can be withdrawn after the asset's delay. A further request restarts the delay
    /// for everything unbonding.
    function requestUnstake(bytes32 assetId, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Asset storage a = _assets[assetId];
        Supporter storage s = _supporters[assetId][msg.sender];
        _sync(assetId, a, s);
        uint256 pending = s.pending;
        uint256 fromPending = amount < pending ? amount : pending;
        uint256 fromActive = amount - fromPending;
        if (fromActive > s.active) revert InsufficientStake();
        if (fromPending != 0) {
            s.pending = uint96(pending - fromPending);
            uint256 left = a.pendingStake - fromPending;
            a.pendingStake = uint96(left);
            a.hasPending = left != 0;
        }
        if (fromActive != 0) {
            s.active -= uint96(fromActive);
            a.totalStake -= uint96(fromActive);
        }
        s.unbonding += uint96(amount);
        a.totalUnbonding += uint96(amount);
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
        a.totalUnbonding -= uint96(amount);
        IERC20(a.token).safeTransfer(msg.sender, amount);
        emit Withdrawn(assetId, msg.sender, amount);
    }

    /// @notice Pays the caller's supporter rewards.
    function claimRewards(bytes32 assetId) external nonReentrant {
        Asset storage a = _assets[assetId];
        Supporter storage s = _supporters[assetId][msg.sender];
        (uint256 active, uint256 pending, uint256 pendingEpoch, uint256 paid, uint256 amount) =
            _synced(assetId, a, s);
        if (amount == 0) revert NothingToClaim();
        // Pays without crediting first, so rewards above 2^96 (the width of `accrued`) are paid.
        _store(s, active, pending, pendingEpoch, paid, 0);
        unchecked {
            a.supportersClaimed += uint112(amount);
        }
        IERC20(a.token).safeTransfer(msg.sender, amount);
        emit RewardsClaimed(assetId, msg.sender, amount);
    }

    /// @notice A supporter's stake: active (earning or activated at the last settles),
    /// unbonding, and when unbonding ends. Pending stake is in {pendingStakeOf}.
    function stakeOf(bytes32 assetId, address supporter)
        external
        view
        returns (uint256 active, uint256 unbonding, uint64 unbondingEnd)
    {
        Supporter storage s = _supporters[assetId][supporter];
        (uint256 act,,,,) = _synced(assetId, _assets[assetId], s);
        return (act, s.unbonding, s.unbondingEnd);
    }

    /// @notice A supporter's stake that has not activated yet and the epoch whose settle
    /// activates it (it earns from the settle after that one).
    function pendingStakeOf(bytes32 assetId, address supporter)
        external
        view
        returns (uint256 amount, uint64 activationEpoch)
    {
        (, uint256 pending, uint256 pendingEpoch,,) =
            _synced(assetId, _assets[assetId], _supporters[assetId][supporter]);
        return (pending, uint64(pendingEpoch));
    }

    /// @notice Rewards a supporter could claim now.
    function claimableRewards(bytes32 assetId, address supporter) external view returns (uint256) {
        (,,,, uint256 accrued) = _synced(assetId, _assets[assetId], _supporters[assetId][supporter]);
        return accrued;
    }

    // ------------------------------------------------------------------ claims

    /// @notice Pays `user` their rebate of one epoch: `amount` must be their leaf in that
    /// epoch's rebate tree. Anyone may submit; the tokens always go to `user`.
    function claimRebate(
        bytes32 assetId,
        uint64 epoch,
        address user,
        uint256 amount,
        bytes32[] calldata proof
    ) external nonReentrant {
        _claimRebate(assetId, epoch, user, amount, proof);
        _payRebates(assetId, user, amount);
    }

    /// @notice Pays `user` their rebates of several epochs in one transfer.
    function claimRebates(bytes32 assetId, address user, RebateClaim[] calldata claims)
        external
        nonReentrant
    {
        uint256 total;
        for (uint256 i; i < claims.length; ++i) {
            RebateClaim calldata c = claims[i];
            _claimRebate(assetId, c.epoch, user, c.amount, c.proof);
            total += c.amount;
        }
        if (total == 0) revert NothingToClaim();
        _payRebates(assetId, user, total);
    }

    /// @notice Whether `user` claimed their rebate of `epoch`.
    function rebateClaimed(bytes32 assetId, uint64 epoch, address user) external view returns (bool) {
        return _rebateBits[assetId][user][epoch >> 8] & (1 << (epoch & 0xff)) != 0;
    }

    /// @notice One epoch's rebates: the first 20 bytes of its root (the rest are zero; proofs
    /// are checked against them), what the epoch's users' share funded, and what was claimed.
    function epochRebates(bytes32 assetId, uint64 epoch)
        external
        view
        returns (bytes32 root, uint256 funded, uint256 claimed)
    {
        EpochRebates storage e = _epochRebates[assetId][epoch];
        uint256 packed = e.rootAndFunded;
        return (bytes32(packed & ~AMOUNT_MASK), packed & AMOUNT_MASK, e.claimed);
    }

    /// @notice Pays the issuer what it is owed. Anyone may submit; the tokens go to the issuer.
    function claimIssuer(bytes32 assetId) external nonReentrant {
        Asset storage a = _assets[assetId];
        uint256 amount = _owed(a.issuerFunded, a.issuerClaimed);
        if (amount == 0) revert NothingToClaim();
        unchecked {
            a.issuerClaimed += uint112(amount);
        }
        address issuer = a.issuer;
        IERC20(a.token).safeTransfer(issuer, amount);
        emit IssuerClaimed(assetId, issuer, amount);
    }

    /// @notice Pays the owner the protocol fees owed by one asset. Anyone may submit.
    function claimProtocol(bytes32 assetId) external nonReentrant {
        Asset storage a = _assets[assetId];
        uint256 amount = _owed(a.protocolFunded, a.protocolClaimed);
        if (amount == 0) revert NothingToClaim();
        unchecked {
            a.protocolClaimed += uint112(amount);
        }
        address to = owner();
        IERC20(a.token).safeTransfer(to, amount);
        emit ProtocolClaimed(assetId, to, amount);
    }

    /// @notice Sends `to` what the contract holds of `token` beyond the ledgers of every asset
    /// paid in it (tokens sent directly, a positive rebase, a fee refunded): the only way out
    /// of stranded amounts. Only the owner. `assetIds` lists every asset paid in `token`, in
    /// ascending order (see {assetCountOf}).
    function skim(address token, address to, bytes32[] calldata assetIds)
        external
        onlyOwner
        nonReentrant
    {
        if (to == address(0)) revert ZeroAddress();
        uint256 owed = _ledgerOfToken(token, assetIds);
        uint256 balance = IERC20(token).balanceOf(address(this));
        if (balance <= owed) revert NothingToSkim();
        uint256 amount = balance - owed;
        IERC20(token).safeTransfer(to, amount);
        emit Skimmed(token, to, amount);
    }

    /// @notice How many assets are paid in `token`.
    function assetCountOf(address token) external view returns (uint256) {
        return _assetCount[token];
    }

    // ---------------------------------------------------------------- internal

    function _setMeter(bytes32 assetId, address meter, bool allowed) private {
        if (meter == address(0)) revert ZeroAddress();
        _meters[assetId][meter] = allowed;
        emit MeterSet(assetId, meter, allowed);
    }

    /// @dev Pulls `amount` from the caller and returns what arrived (a fee-on-transfer token
    /// delivers less; a token that delivers more is credited only what was asked).
    function _pull(address token, uint256 amount) private returns (uint256) {
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = IERC20(token).balanceOf(address(this)) - before;
        return received < amount ? received : amount;
    }

    /// @dev Credits the supporters' share plus what was held, up to the active stake, through
    /// the accumulator; holds the rest; then activates pending stake (after the credit, so it
    /// earns from the next settle) and checkpoints the accumulator for it.
    function _creditSupporters(bytes32 assetId, Asset storage a, uint256 epoch, uint256 share)
        private
    {
        bool hasHeld = a.hasHeld;
        bool hasPending = a.hasPending;
        if (share == 0 && !hasHeld && !hasPending) return;
        uint256 held = hasHeld ? a.held : 0;
        uint256 distributable = share + held;
        uint256 rps = a.rewardPerStake;
        uint256 total = a.totalStake;
        uint256 credit = distributable < total ? distributable : total;
        if (credit != 0) {
            // credit <= total, so rps grows by at most REWARD_SCALE per epoch: 2^160 / 1e36 is
            // 1.4e12 epochs.
            rps += credit * REWARD_SCALE / total;
            a.rewardPerStake = uint160(rps);
        }
        uint256 rest = distributable - credit;
        if (rest != held) {
            if (rest > MAX_AMOUNT) revert AmountTooLarge(MAX_AMOUNT);
            a.held = uint112(rest);
            // Rewriting an unchanged flag still costs a warm write.
            if ((rest != 0) != hasHeld) a.hasHeld = rest != 0;
            emit SupportersShareHeld(assetId, uint64(epoch), rest);
        }
        if (hasPending) {
            _activation[assetId][epoch] = rps;
            a.totalStake = uint96(total + a.pendingStake);
            a.pendingStake = 0;
            a.hasPending = false;
        }
    }

    /// @dev The supporter as it stands after every settle so far: active and pending stake,
    /// the pending stake's activation epoch, the accumulator snapshot and rewards accrued.
    function _synced(bytes32 assetId, Asset storage a, Supporter storage s)
        private
        view
        returns (
            uint256 active,
            uint256 pending,
            uint256 pendingEpoch,
            uint256 paid,
            uint256 accrued
        )
    {
        active = s.active;
        pending = s.pending;
        pendingEpoch = s.pendingEpoch;
        paid = s.rewardPerStakePaid;
        accrued = s.accrued;
        if (pending != 0 && a.epoch >= pendingEpoch) {
            uint256 at = _activation[assetId][pendingEpoch];
            accrued += active * (at - paid) / REWARD_SCALE;
            paid = at;
            active += pending;
            pending = 0;
            pendingEpoch = 0;
        }
        uint256 rps = a.rewardPerStake;
        accrued += active * (rps - paid) / REWARD_SCALE;
        paid = rps;
    }

    /// @dev Brings a supporter up to date (activates its pending stake if a settle did, credits
    /// what its active stake earned); runs before any change to its stake.
    function _sync(bytes32 assetId, Asset storage a, Supporter storage s) private {
        (uint256 active, uint256 pending, uint256 pendingEpoch, uint256 paid, uint256 accrued) =
            _synced(assetId, a, s);
        // Credits above 2^96 revert: such a supporter claims first (which pays and resets).
        if (accrued > type(uint96).max) revert AmountTooLarge(type(uint96).max);
        _store(s, active, pending, pendingEpoch, paid, accrued);
    }

    function _store(
        Supporter storage s,
        uint256 active,
        uint256 pending,
        uint256 pendingEpoch,
        uint256 paid,
        uint256 accrued
    ) private {
        if (pending != s.pending) {
            s.active = uint96(active);
            s.pending = uint96(pending);
            s.pendingEpoch = uint32(pendingEpoch);
        }
        if (paid != s.rewardPerStakePaid || accrued != s.accrued) {
            s.rewardPerStakePaid = uint160(paid);
            s.accrued = uint96(accrued);
        }
    }

    /// @dev Checks one epoch's claim and records it; the caller pays.
    function _claimRebate(
        bytes32 assetId,
        uint64 epoch,
        address user,
        uint256 amount,
        bytes32[] calldata proof
    ) private {
        EpochRebates storage e = _epochRebates[assetId][epoch];
        uint256 packed = e.rootAndFunded;
        bytes32 root = _rebateRootOf(user, amount, proof);
        if (packed == 0 || bytes20(root) != bytes20(bytes32(packed))) revert InvalidProof();
        mapping(uint256 => uint256) storage bits = _rebateBits[assetId][user];
        uint256 word = bits[epoch >> 8];
        uint256 bit = 1 << (epoch & 0xff);
        if (word & bit != 0) revert RebateAlreadyClaimed(epoch);
        if (amount == 0) revert NothingToClaim();
        uint256 claimed = e.claimed + amount;
        if (claimed > packed & AMOUNT_MASK) revert RebatesExceedFunded(epoch);
        bits[epoch >> 8] = word | bit;
        e.claimed = claimed;
        emit RebateClaimed(assetId, epoch, user, amount);
    }

    /// @dev The root that `proof` yields for the leaf `(user, amount)`: the same as OpenZeppelin's
    /// `MerkleProof.processProofCalldata` over `keccak256(bytes.concat(keccak256(abi.encode(user,
    /// amount))))` (sorted pairs), in scratch space so no memory is allocated (checked against
    /// the core package's trees by the claim tests and `verifyRebateProof`).
    function _rebateRootOf(address user, uint256 amount, bytes32[] calldata proof)
        private
        pure
        returns (bytes32 root)
    {
        assembly ("memory-safe") {
            mstore(0x00, user)
            mstore(0x20, amount)
            mstore(0x00, keccak256(0x00, 0x40))
            root := keccak256(0x00, 0x20)
            let p := proof.offset
            for { let end := add(p, shl(5, proof.length)) } lt(p, end) { p := add(p, 0x20) } {
                let sibling := calldataload(p)
                // The smaller word first, without a branch.
                let siblingFirst := lt(sibling, root)
                mstore(shl(5, siblingFirst), root)
                mstore(shl(5, iszero(siblingFirst)), sibling)
                root := keccak256(0x00, 0x40)
            }
        }
    }

    function _payRebates(bytes32 assetId, address user, uint256 amount) private {
        Asset storage a = _assets[assetId];
        unchecked {
            a.rebatesClaimed += uint96(amount);
        }
        IERC20(a.token).safeTransfer(user, amount);
    }

    function _owed(uint112 funded, uint112 claimed) private pure returns (uint256) {
        unchecked {
            return uint112(funded - claimed);
        }
    }

    function _owed96(uint96 funded, uint96 claimed) private pure returns (uint256) {
        unchecked {
            return uint96(funded - claimed);
        }
    }

    function _ledger(Asset storage a) private view returns (uint256) {
        return uint256(a.totalStake) + a.pendingStake + a.totalUnbonding + a.settlerDeposit
            + a.otherDeposits
            + _owed(a.issuerFunded, a.issuerClaimed) + _owed(a.supportersFunded, a.supportersClaimed)
            + _owed96(a.rebatesFunded, a.rebatesClaimed) + _owed(a.protocolFunded, a.protocolClaimed);
    }

    function _ledgerOfToken(address token, bytes32[] calldata assetIds)
        private
        view
        returns (uint256 owed)
    {
        uint256 count = _assetCount[token];
        if (assetIds.length != count) revert IncompleteAssetList(count);
        bytes32 previous;
        for (uint256 i; i < assetIds.length; ++i) {
            bytes32 id = assetIds[i];
            Asset storage a = _assets[id];
            // Ascending ids rule out listing one asset twice in place of another.
            if ((i != 0 && id <= previous) || a.token != token) revert IncompleteAssetList(count);
            owed += _ledger(a);
            previous = id;
        }
    }
}
