// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {
    Attestation, Finding, PriceEntry, Receipt, RMAFraudVerifier
} from "./RMAFraudVerifier.sol";

import {RMAPenalty} from "./RMAPenalty.sol";

// Constants {RMAPenalty} shares (file level, so the library reads the same ones).

/// @dev How many postpaid batches of one asset may be pending at once: a settle that would
/// exceed it, with the oldest not yet due, reverts `TooManyPending(releasableAt)`
/// (`maxPendingBatches` in the TypeScript package).
uint256 constant MAX_PENDING_BATCHES = 15;
/// @dev `Asset.status`: the number of pending batches in its top 4 bits (at most 15), its
/// flags in the low 4.
uint256 constant COUNT_SHIFT = 4;
uint8 constant FLAGS = 15;
/// @dev `Asset.status` bit of an asset frozen by a proven fraud (bit 0, prepaid, is the
/// contract's `PREPAID`).
uint8 constant FROZEN = 2;
/// @dev `Asset.status` bit of an asset whose stake a fraud proof slashed in its current epoch:
/// {resume} then records the epoch's final accumulator for the slash records (see `Slash`).
uint8 constant SLASHED = 4;
/// @dev `Asset.status` bit of an asset holding part of a supporters' share (`held`, slot 4).
uint8 constant HELD = 8;
/// @dev `_epochRebates` of a vetoed batch: no root (claims revert `InvalidProof`), never zero.
uint256 constant VETOED = 1;

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
///  - Prepaid mode: users deposit the payment token into a balance per (token, user); the
///    asset's settler submits the users' countersigned cumulative vouchers (`ReceiptAck`s) and
///    each debits exactly the increase since the last settled one, never more than the
///    balance; the sum is split like a settle's revenue and the users' share goes straight back
///    to the users' balances. Withdrawal waits `withdrawalDelay` so acked vouchers settle first.
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

    /// @dev {settlementModeOf}: none before the first settlement, then postpaid or prepaid.
    uint8 private constant MODE_NONE = 0;
    uint8 private constant MODE_POSTPAID = 1;
    uint8 private constant MODE_PREPAID = 2;
    /// @dev `Asset.status` bits.
    uint8 private constant PREPAID = 1;

    /// @notice The EIP-712 type of a user's ack of a receipt: signed, it is a voucher for
    /// `cumulativeAmount`, everything the user owes this asset's meter on this chain.
    bytes32 public constant RECEIPT_ACK_TYPEHASH = keccak256(
        "ReceiptAck(bytes32 assetId,address user,address meter,uint64 seq,bytes32 receiptHash,uint256 cumulativeAmount)"
    );
    bytes32 private constant DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    );
    /// @notice The shortest withdrawal delay a deployment may choose.
    uint64 public constant MIN_WITHDRAWAL_DELAY = 1 hours;
    /// @notice The longest withdrawal delay a deployment may choose.
    uint64 public constant MAX_WITHDRAWAL_DELAY = 30 days;
    /// @notice The bound of a voucher's cumulative amount (2^192 - 1 base units): a chain's
    /// settled seq and cumulative amount share one slot.
    uint256 public constant MAX_CUMULATIVE = type(uint192).max;
    /// @dev The longest challenge window an asset may choose (see {setChallengeWindow}). Not a
    /// public getter: each selector sorted before `settle`'s costs every settle 22 gas of
    /// dispatch. The TypeScript package exports it (`maxChallengeWindow`).
    uint64 private constant MAX_CHALLENGE_WINDOW = 7 days;
    /// @dev A pending batch's record: its revenue in the low 112 bits, its `releasableAt` in the
    /// next 64; the top bit is always set so a record slot, once written, is never zero again
    /// (a rewrite costs 2,900 gas instead of 22,100).
    uint256 private constant RECORD_USED = 1 << 255;
    /// @dev secp256k1n / 2: a larger `s` is the malleable twin of a valid signature.
    uint256 private constant HALF_ORDER =
        0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    /// @notice Seconds between {requestWithdrawal} and {withdraw} of a prepaid balance, fixed at
    /// deployment. Rule: at least the longest settlement interval of any asset paid in a token
    /// plus a margin for confirmations and an outage, so every voucher acked before a request
    /// is settled before the withdrawal can leave.
    uint64 public immutable withdrawalDelay;
    /// @notice Seconds after a receipt's `timestamp` during which it can prove a fraud (later:
    /// `ReceiptTooOld`), fixed at deployment. Every asset's unbonding delay is at least this
    /// long, so stake at risk when a receipt was signed is still there to slash.
    uint64 public immutable proofWindow;
    /// @notice The stateless contract that checks fraud proofs' signatures, Merkle proofs and
    /// price rule (the settlement contract forwards each proof's calldata to it).
    RMAFraudVerifier public immutable fraudVerifier;
    /// @notice The shortest challenge window an asset may choose, fixed at deployment (0 lets
    /// postpaid batches be claimable at once). A new asset starts with it.
    uint64 public immutable minChallengeWindow;
    uint256 private immutable _cachedChainId;
    bytes32 private immutable _cachedDomainSeparator;

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
        // The challenge window of the batches settled from now on (at most 7 days).
        uint32 challengeWindow;
        // slot 1: read and written by settle
        uint32 epoch;
        uint112 issuerFunded;
        uint112 supportersFunded;
        // slot 2: read and written by settle
        uint96 rebatesFunded;
        uint112 settlerDeposit;
        bool hasPending;
        // Bit 0: it settles prepaid (settlePrepaid), set by its first settlement if that is
        // prepaid (an asset with a settled epoch and no flag settles postpaid); bit 1: frozen
        // by a proven fraud (settle and settlePrepaid revert until the issuer resumes); bit 2:
        // its stake was slashed this epoch (`SLASHED`); bit 3: `held` is not zero (`HELD`).
        // Top 4 bits: the number of pending batches (zero, with no window, keeps settle on its
        // immediate path: see {settle}).
        uint8 status;
        // The oldest pending batch's `releasableAt` (a copy of its record's, valid while a
        // batch is pending): a settle decides whether to release it without reading the
        // record. 32 bits: a settle whose batch would be due after 2106 reverts.
        uint32 headDue;
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
        uint32 unbondingDelay;
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
        // How many of the asset's stake slashes are applied to this supporter's stake.
        uint32 slashIndex;
        // slot 3: everything fraud proofs took from this supporter's stake
        uint96 slashed;
    }

    /// @notice One epoch's rebate claim of a user, for {claimRebates}.
    struct RebateClaim {
        uint64 epoch;
        uint256 amount;
        bytes32[] proof;
    }

    /// @notice A user's countersigned cumulative voucher: its `ReceiptAck` of receipt `seq` of
    /// the chain (asset, meter, user), signed by `user` with an EIP-2098 compact signature
    /// (`vs` is `s` with `v - 27` in its top bit).
    struct Voucher {
        address meter;
        address user;
        uint64 seq;
        bytes32 receiptHash;
        uint256 cumulativeAmount;
        bytes32 r;
        bytes32 vs;
    }

    /// @notice Why {settlePrepaid} skipped a voucher (`VoucherSkipped.reason`).
    enum SkipReason {
        /// The meter is not (or no longer) authorised for the asset.
        MeterNotAuthorised,
        /// Its seq or cumulative amount is not above the chain's settled voucher: a replay, a
        /// voucher out of order, or a lowered or equal cumulative amount.
        NotNewer,
        /// The cumulative amount exceeds `MAX_CUMULATIVE`.
        OutOfRange,
        /// Not signed by its user for this asset, meter, chain id and contract (or altered).
        BadSignature,
        /// The increase exceeds the user's prepaid balance.
        InsufficientBalance
    }

    /// @dev One user's prepaid balance of one token, in one slot. `withdrawableAt` is a Unix
    /// time in 32 bits (until 2106).
    struct Prepaid {
        uint112 balance;
        uint112 withdrawalRequested;
        uint32 withdrawableAt;
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
    /// @dev One slot per epoch with rebates: the first 20 bytes of its root, then what of its
    /// funding is still unclaimed (96 bits). Settle writes it with the whole users' share; each
    /// claim reads and lowers it (so `claimed <= funded` holds per epoch), in the one slot.
    mapping(bytes32 assetId => mapping(uint256 epoch => uint256)) private _epochRebates;
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
    /// @dev Prepaid balances, shared by every asset paid in the token.
    mapping(address token => mapping(address user => Prepaid)) private _prepaid;
    /// @dev The sum of the prepaid balances of a token (part of what the contract owes in it).
    mapping(address token => uint256) private _prepaidTotal;
    /// @dev The last settled voucher of each chain: its seq in the top 64 bits, its cumulative
    /// amount in the low 192 (one slot per chain).
    mapping(bytes32 assetId => mapping(address meter => mapping(address user => uint256))) private
        _settledVouchers;
    /// @dev Pending postpaid batches: epoch `e`'s record at `e % MAX_PENDING_BATCHES` (its
    /// revenue and `releasableAt`), valid while `e` is among the asset's pending epochs (the last
    /// `count` settled); pre-written when the asset gets a window, so settle only rewrites one.
    mapping(bytes32 assetId => mapping(uint256 index => uint256)) private _batchRecords;

    // ------------------------------------------------ fraud proofs: storage
    /// @dev One asset's risk books. Slot 0: the issuer bond (part of the asset's ledger), what
    /// fraud proofs took in all (bond and stake), how many meters are authorised now. Slot 1
    /// (written by a fraud proof anyway, when it revokes the meter): when a meter was last
    /// revoked, how many price tables were committed, how many stake slashes were recorded
    /// (`_slashes` indexes 0 to `slashes - 1`; checked, so the 2^32nd slash reverts, as a
    /// supporter's `slashIndex` has 32 bits) and the slashes' rounding units, which go to the
    /// protocol (at most 1 per slash, so below 2^32): the protocol's funded amount is
    /// `protocolFunded + slashDust` wherever it is read (its claims count them as claimed).
    struct Risk {
        uint112 bond;
        uint112 totalSlashed;
        uint32 meters;
        uint64 lastRevocation;
        uint64 priceTables;
        uint32 slashes;
        uint32 slashDust;
    }

    /// @dev One slash of an asset's stake, in one slot: every supporter's active and unbonding
    /// stake is scaled by `num / den` (rounded down) after settle `epoch`, at the accumulator
    /// value the asset ends that epoch with. Bounds: `num <= den` = the active and unbonding
    /// stake, below 2^96 (`MAX_STAKE`, enforced at {stake}); epochs are 32 bits. The accumulator
    /// is not stored per slash: from a proof (which freezes the asset and vetoes its pending
    /// batches) until the epoch ends, nothing can move it (settles revert until {resume}, and
    /// nothing is left to release), so it is the asset's current one while `epoch` is the
    /// asset's epoch and `_slashRps[epoch]` afterwards, which {resume} writes (the asset
    /// cannot settle again before it).
    struct Slash {
        uint96 num;
        uint96 den;
        uint32 epoch;
    }

    mapping(bytes32 assetId => Risk) private _risk;
    mapping(bytes32 assetId => mapping(uint256 index => Slash)) private _slashes;
    /// @dev The accumulator an epoch with stake slashes ended with (see `Slash`).
    mapping(bytes32 assetId => mapping(uint256 epoch => uint256)) private _slashRps;
    mapping(bytes32 assetId => mapping(address meter => bool)) private _everMeter;
    /// @dev A committed price table's version (high bits) and effectiveFrom (low 64 bits).
    mapping(bytes32 assetId => mapping(bytes32 root => uint256)) private _priceTables;
    mapping(address token => uint256) private _minBond;
    /// @dev The chain positions (asset, meter, user, seq) a fraud proof has paid for.
    mapping(bytes32 position => bool) private _proven;

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
    /// @notice The issuer set the challenge window of the asset's later postpaid batches.
    event ChallengeWindowSet(bytes32 indexed assetId, uint64 challengeWindow);
    /// @notice A pending batch's split was credited (its rebate root became claimable).
    event BatchReleased(bytes32 indexed assetId, uint64 indexed epoch, uint256 revenue);
    /// @notice A pending batch was vetoed: `revenue` went back to the settler's deposit and its
    /// rebate root never becomes claimable.
    event BatchVetoed(bytes32 indexed assetId, uint64 indexed epoch, uint256 revenue);
    event DepositWithdrawn(bytes32 indexed assetId, address indexed settler, uint256 amount);
    event Skimmed(address indexed token, address indexed to, uint256 amount);
    /// @notice `amount` (what arrived) was credited to `user`'s prepaid balance, paid by `from`.
    event PrepaidDeposited(
        address indexed token, address indexed user, address indexed from, uint256 amount
    );
    /// @notice `amount` 0 cancels a request.
    event WithdrawalRequested(
        address indexed token, address indexed user, uint256 amount, uint64 withdrawableAt
    );
    event PrepaidWithdrawn(address indexed token, address indexed user, uint256 amount);
    /// @notice One voucher of the `PrepaidSettled` batch of the same transaction settled:
    /// `debit` left the user's balance and its rebate, `floor(debit * usersBps / 10000)`, came
    /// back to it. The asset is the batch's; the voucher itself (meter, seq, cumulative amount)
    /// is in the transaction's calldata and in {settledVoucher}. Two topics and one word help keep
    /// a voucher under 20k gas.
    event VoucherSettled(address indexed user, uint256 debit);
    /// @notice A voucher {settlePrepaid} skipped; nothing of it was applied.
    event VoucherSkipped(
        bytes32 indexed assetId,
        address indexed meter,
        address indexed user,
        uint64 seq,
        SkipReason reason
    );
    /// @notice One prepaid settlement: `debited` is the sum of the vouchers' increases, split
    /// like a settle's revenue; `usersAmount` went back to the users' balances (the rounding
    /// remainder of the users' share is in `issuerAmount`).
    event PrepaidSettled(
        bytes32 indexed assetId,
        uint64 indexed epoch,
        uint256 vouchers,
        uint256 settledVouchers,
        uint256 debited,
        uint256 issuerAmount,
        uint256 supportersAmount,
        uint256 usersAmount,
        uint256 protocolAmount
    );

    /// @notice A fraud was proven (`kind`: 1 equivocation, 2 overcharge, 3 mispricing):
    /// `compensation` went to the user and `bounty` to the challenger (both as paid, out of the
    /// bond and then the stake); the meter is revoked and the asset frozen.
    event FraudProven(
        bytes32 indexed assetId,
        address indexed meter,
        address indexed user,
        uint8 kind,
        bytes32 receiptHash,
        uint256 compensation,
        uint256 bounty,
        address challenger
    );
    event PriceTableCommitted(
        bytes32 indexed assetId,
        bytes32 indexed root,
        uint64 version,
        uint64 effectiveFrom,
        string uri
    );
    event MinBondSet(address indexed token, uint256 amount);
    event BondPosted(bytes32 indexed assetId, address indexed from, uint256 amount);
    event BondWithdrawn(bytes32 indexed assetId, address indexed issuer, uint256 amount);
    event AssetResumed(bytes32 indexed assetId);

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
    error InvalidWithdrawalDelay();
    error UnknownToken();
    error InsufficientBalance(uint256 available);
    error WithdrawalLocked(uint64 withdrawableAt);
    error InvalidPermit();
    /// @notice The asset is settled in the other mode (`mode`: 1 postpaid, 2 prepaid). An
    /// asset's first settlement fixes its mode: a chain's receipts settled postpaid must never
    /// be debited again by a prepaid voucher, whose running total includes them.
    error SettlementModeMismatch(uint8 mode);
    error InvalidProofWindow();
    /// @notice The asset is frozen by a proven fraud until its issuer calls {resume}.
    error AssetFrozen();
    /// @notice {resume} on an asset that is not frozen.
    error NotFrozen();
    /// @notice The bond is below `minBondOf(token)` (`required`).
    error BondTooLow(uint256 required);
    /// @notice The bond cannot leave before `withdrawableAt` (0: not while a meter is
    /// authorised).
    error BondLocked(uint64 withdrawableAt);
    error InsufficientBond(uint256 available);
    /// @notice The receipt's meter was never authorised for the receipt's asset.
    error MeterNotAuthorised();
    /// @notice The receipt is older than `proofWindow`.
    error ReceiptTooOld();
    /// @notice This chain position (asset, meter, user, seq) was already paid by a proof.
    error AlreadyProven();
    /// @notice The receipt's price table was not committed for its asset.
    error PriceTableNotCommitted();
    error PriceTableExists();
    error InvalidPriceTable();

    /// @notice The window is outside `[minChallengeWindow, MAX_CHALLENGE_WINDOW]`.
    error InvalidChallengeWindow();
    /// @notice The epoch's batch is pending until `releasableAt` (and every earlier pending
    /// batch's release).
    error EpochPending(uint64 releasableAt);
    /// @notice The epoch has no pending batch (never settled, released or vetoed).
    error NotPending(uint64 epoch);
    /// @notice `MAX_PENDING_BATCHES` are pending and the oldest is not due before `releasableAt`.
    error TooManyPending(uint64 releasableAt);

    /// @param owner_ The protocol fee recipient.
    /// @param withdrawalDelay_ Seconds a prepaid withdrawal waits (see {withdrawalDelay}).
    /// @param proofWindow_ Seconds after a receipt's timestamp during which it can prove a
    /// fraud (see {proofWindow}).
    /// @param fraudVerifier_ The stateless verifier of fraud proofs (see {fraudVerifier}).
    /// @param minChallengeWindow_ The shortest challenge window (see {minChallengeWindow}).
    constructor(
        address owner_,
        uint64 withdrawalDelay_,
        uint64 proofWindow_,
        RMAFraudVerifier fraudVerifier_,
        uint64 minChallengeWindow_
    ) Ownable(owner_) {
        if (withdrawalDelay_ < MIN_WITHDRAWAL_DELAY || withdrawalDelay_ > MAX_WITHDRAWAL_DELAY) {
            revert InvalidWithdrawalDelay();
        }
        if (proofWindow_ == 0 || proofWindow_ > MAX_UNBONDING_DELAY) revert InvalidProofWindow();
        if (address(fraudVerifier_) == address(0)) revert ZeroAddress();
        if (minChallengeWindow_ > MAX_CHALLENGE_WINDOW) revert InvalidChallengeWindow();
        proofWindow = proofWindow_;
        fraudVerifier = fraudVerifier_;
        withdrawalDelay = withdrawalDelay_;
        minChallengeWindow = minChallengeWindow_;
        _cachedChainId = block.chainid;
        _cachedDomainSeparator = _buildDomainSeparator();
    }

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
    ) external nonReentrant returns (bytes32 assetId) {
        assetId = assetIdOf(msg.sender, salt);
        Asset storage a = _assets[assetId];
        if (a.issuer != address(0)) revert AssetExists();
        if (uint256(issuerBps) + supportersBps + usersBps + protocolBps != BPS) {
            revert InvalidShares();
        }
        if (token == address(0) || settler == address(0)) revert ZeroAddress();
        // Stake must stay at risk for as long as a receipt can prove a fraud.
        if (
            unbondingDelay < MIN_UNBONDING_DELAY || unbondingDelay > MAX_UNBONDING_DELAY
                || unbondingDelay < proofWindow
        ) revert InvalidUnbondingDelay();

        a.settler = settler;
        a.issuerBps = issuerBps;
        a.supportersBps = supportersBps;
        a.usersBps = usersBps;
        a.protocolBps = protocolBps;
        a.unbondingDelay = uint32(unbondingDelay);
        a.token = token;
        a.issuer = msg.sender;
        // Its record slots are prepared by {setChallengeWindow} (until then a windowed settle
        // fills a fresh one).
        uint64 window = minChallengeWindow;
        if (window != 0) a.challengeWindow = uint32(window);
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
        uint256 minBond = _minBond[token];
        if (minBond != 0) _addBond(assetId, _pull(token, minBond));
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

    /// @notice Sets the challenge window of the asset's postpaid batches settled from now on,
    /// within `[minChallengeWindow, MAX_CHALLENGE_WINDOW]`. Only the issuer. A batch keeps the
    /// `releasableAt` it was settled with; batches are released in order, so a shorter window
    /// never releases a batch before an earlier one.
    function setChallengeWindow(bytes32 assetId, uint64 challengeWindow) external {
        Asset storage a = _assets[assetId];
        if (a.issuer != msg.sender) revert NotIssuer();
        if (challengeWindow < minChallengeWindow || challengeWindow > MAX_CHALLENGE_WINDOW) {
            revert InvalidChallengeWindow();
        }
        if (challengeWindow != 0) _prepareRecords(assetId);
        a.challengeWindow = uint32(challengeWindow);
        emit ChallengeWindowSet(assetId, challengeWindow);
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
        v.protocolFunded = _protocolFunded(assetId, a);
        v.protocolClaimed = a.protocolClaimed;
        v.rebatesFunded = a.rebatesFunded;
        v.rebatesClaimed = a.rebatesClaimed;
        v.supportersFunded = a.supportersFunded;
        v.supportersClaimed = a.supportersClaimed;
        v.issuerOwed = _owed(a.issuerFunded, a.issuerClaimed);
        v.protocolOwed = _owed(uint112(v.protocolFunded), a.protocolClaimed);
        v.deposits = uint256(a.settlerDeposit) + a.otherDeposits;
        v.ledger = _ledger(assetId, a);
    }

    /// @notice Everything the asset owes in its token: active, pending and unbonding stake,
    /// every role's owed amount (held supporters' share and rounding dust included) and the
    /// settlers' deposits, and the revenue of pending batches. The contract's balance of a token
    /// covers the ledgers of all assets paid in it.
    function ledgerOf(bytes32 assetId) external view returns (uint256) {
        return _ledger(assetId, _assets[assetId]);
    }

    // ------------------------------------------------------------ settlement

    /// @notice Settles the next epoch of an asset: takes `revenue` from the settler's deposit
    /// when it covers it, else pulls it with `transferFrom`, and splits what arrived.
    /// `rebateRoot` is the root of this epoch's rebates only (leaves `(user, amount)`); it is
    /// funded with this epoch's users' share and never replaced. The receipts root, batch URI
    /// and batch hash are only emitted. `Settled.revenue` is the amount credited (less than
    /// `revenue` for a fee-on-transfer token). With a challenge window (see
    /// {setChallengeWindow}) the batch is pending: its split is credited and its rebates become
    /// claimable at its {release}, and a {_vetoPending} returns its revenue to the settler's
    /// deposit instead; this settle first releases the oldest pending batch if it is due.
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
        // Slot 0 once: the settler (low 160 bits) and the challenge window (top 32).
        uint256 slot0;
        assembly ("memory-safe") {
            slot0 := sload(a.slot)
        }
        if (address(uint160(slot0)) != msg.sender) revert NotSettler();
        uint256 window = slot0 >> 224;
        uint256 next = uint256(a.epoch) + 1;
        if (epoch != next) revert BadEpoch(uint64(next));
        // One mode per asset: a batch of an asset settled prepaid would pay receipts its
        // users' vouchers pay. (A first settle needs no flag: a settled epoch without the
        // prepaid flag is postpaid.)
        uint8 status = a.status;
        if (status & PREPAID != 0) revert SettlementModeMismatch(MODE_PREPAID);
        if (status & FROZEN != 0) revert AssetFrozen();
        // A challenge window or pending batches.
        bool pending = window != 0 || status >> COUNT_SHIFT != 0;

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

        (uint256 issuer, uint256 supporters, uint256 users, uint256 protocol) = _split(a, received);

        if (!pending) {
            _closeEpoch(a, next, issuer, supporters);
            if (users != 0) {
                if (users > AMOUNT_MASK) revert AmountTooLarge(AMOUNT_MASK);
                if (bytes20(rebateRoot) == bytes20(0)) revert MissingRebateRoot();
                unchecked {
                    a.rebatesFunded += uint96(users);
                }
                _epochRebates[assetId][next] = (uint256(rebateRoot) & ~AMOUNT_MASK) | users;
            }
            unchecked {
                if (protocol != 0) a.protocolFunded += uint112(protocol);
            }
        } else {
            // A challenge window or pending batches: this batch pends ({release} credits it).
            _settlePending(assetId, a, next, received, users, rebateRoot, window);
        }
        // Pending stake activates at every settle (epochs are the time at risk); a pending
        // batch's supporters' share is credited at its release.
        _creditSupporters(assetId, a, next, pending ? 0 : supporters);

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

    /// @notice Releases the asset's pending batches up to `epoch`, oldest first, each once its
    /// window has passed: credits its split (issuer, supporters, protocol) and funds its rebate
    /// root. Anyone may call.
    function release(bytes32 assetId, uint64 epoch) external nonReentrant {
        Asset storage a = _assets[assetId];
        uint256 count = a.status >> COUNT_SHIFT;
        uint256 last = a.epoch;
        uint256 head = last + 1 - count;
        if (epoch < head || epoch > last) revert NotPending(epoch);
        mapping(uint256 => uint256) storage records = _batchRecords[assetId];
        for (uint256 e = head; e <= epoch; ++e) {
            uint256 record = records[e % MAX_PENDING_BATCHES];
            uint256 at = uint64(record >> 112);
            if (block.timestamp < at) revert EpochPending(uint64(at));
            _release(assetId, a, e, record);
        }
        uint256 left = last - epoch;
        // The next pending batch becomes the oldest: its due time moves into slot 2.
        if (left != 0) a.headDue = uint32(records[(epoch + 1) % MAX_PENDING_BATCHES] >> 112);
        // Re-read: a release may have changed a flag.
        a.status = uint8((a.status & FLAGS) | left << COUNT_SHIFT);
    }

    /// @notice The challenge window (seconds) of the asset's batches settled from now on.
    function challengeWindowOf(bytes32 assetId) external view returns (uint64) {
        return _assets[assetId].challengeWindow;
    }

    /// @notice A settled batch's state: 0 not settled, 1 pending (credited and claimable at its
    /// {release}, not before `releasableAt`; `revenue` is what it paid in), 2 released (or
    /// settled without a window, prepaid settlements included), 3 vetoed.
    function epochStateOf(bytes32 assetId, uint64 epoch)
        external
        view
        returns (uint8 state, uint64 releasableAt, uint256 revenue)
    {
        if (epoch == 0 || epoch > _assets[assetId].epoch) return (0, 0, 0);
        uint256 record = _pendingRecord(assetId, epoch);
        if (record != 0) return (1, uint64(record >> 112), uint112(record));
        return (_epochRebates[assetId][epoch] == VETOED ? 3 : 2, 0, 0);
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
        Asset storage a = _assets[assetId];
        // Applies the slashes proven since its last update to what is unbonding.
        _sync(assetId, a, s);
        uint256 amount = s.unbonding;
        if (amount == 0) revert NothingToWithdraw();
        if (block.timestamp < s.unbondingEnd) revert StillUnbonding();
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
        Synced memory v = _synced(assetId, a, s);
        uint256 amount = v.accrued;
        if (amount == 0) revert NothingToClaim();
        // Pays without crediting first, so rewards above 2^96 (the width of `accrued`) are paid.
        v.accrued = 0;
        _store(s, v);
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
        Synced memory v = _synced(assetId, _assets[assetId], s);
        return (v.active, v.unbonding, s.unbondingEnd);
    }

    /// @notice A supporter's stake that has not activated yet and the epoch whose settle
    /// activates it (it earns from the settle after that one).
    function pendingStakeOf(bytes32 assetId, address supporter)
        external
        view
        returns (uint256 amount, uint64 activationEpoch)
    {
        Synced memory v = _synced(assetId, _assets[assetId], _supporters[assetId][supporter]);
        return (v.pending, uint64(v.pendingEpoch));
    }

    /// @notice Rewards a supporter could claim now.
    function claimableRewards(bytes32 assetId, address supporter) external view returns (uint256) {
        return _synced(assetId, _assets[assetId], _supporters[assetId][supporter]).accrued;
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
    /// are checked against them) and what of its funding is still unclaimed. What it funded is
    /// `Settled.usersAmount` of the epoch; claimed so far is that minus `remaining` (or the sum
    /// of its `RebateClaimed` events).
    function epochRebates(bytes32 assetId, uint64 epoch)
        external
        view
        returns (bytes32 root, uint256 remaining)
    {
        uint256 packed = _epochRebates[assetId][epoch];
        return (bytes32(packed & ~AMOUNT_MASK), packed & AMOUNT_MASK);
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
        // Funded includes the slashes' rounding units (see `Risk.slashDust`).
        uint256 amount = _owed(_protocolFunded(assetId, a), a.protocolClaimed);
        if (amount == 0) revert NothingToClaim();
        unchecked {
            a.protocolClaimed += uint112(amount);
        }
        address to = owner();
        IERC20(a.token).safeTransfer(to, amount);
        emit ProtocolClaimed(assetId, to, amount);
    }

    /// @notice Sends `to` what the contract holds of `token` beyond the ledgers of every asset
    /// paid in it and the prepaid balances in it (tokens sent directly, a positive rebase, a
    /// fee refunded): the only way out
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

    // ----------------------------------------------------------------- prepaid

    /// @notice Credits `user`'s prepaid balance of `token` with what arrives of `amount`,
    /// pulled from the caller: anyone may deposit on behalf of a user. The balance pays any
    /// asset paid in `token`.
    function depositFor(address token, address user, uint256 amount) external nonReentrant {
        _depositFor(token, msg.sender, user, amount);
    }

    /// @notice {depositFor} paid by `user` through its EIP-2612 permit of `amount` to this
    /// contract (the permit sets the allowance; it does not add to it). Anyone may submit. The
    /// permit must consume one of the user's permit nonces: a token without `permit` whose
    /// fallback accepts the call (WETH) would otherwise let anyone move a user's approved
    /// tokens. A permit used by someone else first makes this revert: the allowance is then in
    /// place and the user can call {depositFor} itself.
    function depositWithPermit(
        address token,
        address user,
        uint256 amount,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant {
        uint256 nonce = IERC20Permit(token).nonces(user);
        IERC20Permit(token).permit(user, address(this), amount, deadline, v, r, s);
        if (IERC20Permit(token).nonces(user) != nonce + 1) revert InvalidPermit();
        _depositFor(token, user, user, amount);
    }

    /// @notice Asks to withdraw `amount` of the caller's prepaid balance after
    /// `withdrawalDelay`; 0 cancels. A new request replaces the previous one and restarts the
    /// delay. Vouchers still debit the balance meanwhile: a user cannot escape what it acked.
    function requestWithdrawal(address token, uint256 amount) external nonReentrant {
        Prepaid storage p = _prepaid[token][msg.sender];
        uint256 balance = p.balance;
        if (amount > balance) revert InsufficientBalance(balance);
        uint64 at = amount == 0 ? 0 : uint64(block.timestamp) + withdrawalDelay;
        p.withdrawalRequested = uint112(amount);
        p.withdrawableAt = uint32(at);
        emit WithdrawalRequested(token, msg.sender, amount, at);
    }

    /// @notice Pays the caller its requested withdrawal once the delay has passed: the smaller
    /// of the amount requested and the balance left after the vouchers settled meanwhile.
    function withdraw(address token) external nonReentrant {
        Prepaid storage p = _prepaid[token][msg.sender];
        uint256 requested = p.withdrawalRequested;
        if (requested == 0) revert NothingToWithdraw();
        uint256 at = p.withdrawableAt;
        if (block.timestamp < at) revert WithdrawalLocked(uint64(at));
        uint256 balance = p.balance;
        uint256 amount = requested < balance ? requested : balance;
        p.balance = uint112(balance - amount);
        p.withdrawalRequested = 0;
        p.withdrawableAt = 0;
        _prepaidTotal[token] -= amount;
        if (amount != 0) IERC20(token).safeTransfer(msg.sender, amount);
        emit PrepaidWithdrawn(token, msg.sender, amount);
    }

    /// @notice Settles users' vouchers of an asset: each debits its user by the increase of its
    /// cumulative amount over the chain's last settled voucher. A voucher is applied only if
    /// its meter is authorised for the asset, its seq and cumulative amount are both above the
    /// settled ones, it is signed by its user for this asset, meter, chain id and contract, and
    /// the increase fits the user's balance; otherwise it is skipped with `VoucherSkipped` and
    /// the batch goes on. The sum of the debits is split like {settle}'s revenue and counts as
    /// one epoch; each user's users' share, `floor(debit * usersBps / 10000)`, goes straight
    /// back to its balance (pro rata to its debit), and the rounding remainder of the users'
    /// share goes to the issuer with its dust. Only the asset's settler: a settlement closes an
    /// epoch, and epochs are the time new stake must sit through before it earns, so letting
    /// anyone settle would let a staker close epochs at will (just-in-time capture).
    function settlePrepaid(bytes32 assetId, Voucher[] calldata vouchers) external nonReentrant {
        Asset storage a = _assets[assetId];
        if (a.settler != msg.sender) revert NotSettler();
        // One mode per asset: a voucher's running total includes the chain's receipts a
        // postpaid batch already paid, so an asset settled postpaid refuses vouchers.
        uint8 status = a.status;
        if (status & PREPAID == 0) {
            if (a.epoch != 0) revert SettlementModeMismatch(MODE_POSTPAID);
            a.status = status | PREPAID;
        }
        if (status & FROZEN != 0) revert AssetFrozen();
        address token = a.token;
        (uint256 debited, uint256 rebated, uint256 settled) =
            _applyVouchers(assetId, _prepaid[token], a.usersBps, vouchers);
        if (debited > MAX_AMOUNT) revert AmountTooLarge(MAX_AMOUNT);
        (uint256 issuer, uint256 supporters, uint256 users, uint256 protocol) = _split(a, debited);
        // Per-voucher floors sum to at most the batch's floor: the remainder joins the dust.
        issuer += users - rebated;
        uint256 next = uint256(a.epoch) + 1;
        _closeEpoch(a, next, issuer, supporters);
        unchecked {
            if (protocol != 0) a.protocolFunded += uint112(protocol);
        }
        _prepaidTotal[token] -= debited - rebated;
        _creditSupporters(assetId, a, next, supporters);
        emit PrepaidSettled(
            assetId,
            uint64(next),
            vouchers.length,
            settled,
            debited,
            issuer,
            supporters,
            rebated,
            protocol
        );
    }

    /// @notice A user's prepaid balance of `token`, its pending withdrawal request and when
    /// that request can be withdrawn (0 without one).
    function prepaidBalance(address token, address user)
        external
        view
        returns (uint256 balance, uint256 withdrawalRequested, uint64 withdrawableAt)
    {
        Prepaid storage p = _prepaid[token][user];
        return (p.balance, p.withdrawalRequested, p.withdrawableAt);
    }

    /// @notice The sum of every user's prepaid balance of `token`.
    function prepaidTotalOf(address token) external view returns (uint256) {
        return _prepaidTotal[token];
    }

    /// @notice How the asset settles, fixed by its first settlement: 0 before it, 1 postpaid
    /// ({settle}) or 2 prepaid ({settlePrepaid}); the other one then reverts with
    /// `SettlementModeMismatch`.
    function settlementModeOf(bytes32 assetId) external view returns (uint8) {
        Asset storage a = _assets[assetId];
        if (a.status & PREPAID != 0) return MODE_PREPAID;
        return a.epoch != 0 ? MODE_POSTPAID : MODE_NONE;
    }

    /// @notice The last settled voucher of the chain (asset, meter, user); zeros before one.
    function settledVoucher(bytes32 assetId, address meter, address user)
        external
        view
        returns (uint64 seq, uint256 cumulativeAmount)
    {
        uint256 packed = _settledVouchers[assetId][meter][user];
        return (uint64(packed >> 192), packed & MAX_CUMULATIVE);
    }

    /// @notice The EIP-712 domain separator of vouchers and every RMA object on this chain:
    /// name "RMA", version "1", the chain id and this contract.
    function domainSeparator() public view returns (bytes32) {
        return block.chainid == _cachedChainId ? _cachedDomainSeparator : _buildDomainSeparator();
    }

    /// @notice The EIP-712 digest a user signs to ack receipt `seq` of a chain for a
    /// cumulative amount (the `hashAck` of the core package).
    function ackDigest(
        bytes32 assetId,
        address user,
        address meter,
        uint64 seq,
        bytes32 receiptHash,
        uint256 cumulativeAmount
    ) external view returns (bytes32) {
        return _ackDigest(domainSeparator(), assetId, user, meter, seq, receiptHash, cumulativeAmount);
    }

    // ---------------------------------------------------------------- fraud proofs

    uint8 private constant FRAUD_EQUIVOCATION = 1;
    uint8 private constant FRAUD_OVERCHARGE = 2;
    uint8 private constant FRAUD_MISPRICING = 3;

    /// @notice Proves that a meter signed two different receipts for one chain position
    /// (asset, meter, user, seq). Compensation: the larger amount. See {_punish}.
    function proveEquivocation(
        Receipt calldata,
        bytes calldata,
        Receipt calldata,
        bytes calldata
    ) external {
        _prove(FRAUD_EQUIVOCATION);
    }

    /// @notice Proves that a receipt charged more than the `maxAmount` of the user's
    /// attestation it answers (same asset and request hash; `r.attestation` is the
    /// attestation's digest). Compensation: the excess.
    function proveOvercharge(
        Receipt calldata,
        bytes calldata,
        Attestation calldata,
        bytes calldata
    ) external {
        _prove(FRAUD_OVERCHARGE);
    }

    /// @notice Proves that a receipt charged more than its committed price table's price of
    /// its tokens (`entry` proven in `r.priceTable`, named `r.model` or its snapshot base).
    /// Compensation: the difference.
    function proveMispricing(
        Receipt calldata,
        bytes calldata,
        PriceEntry calldata,
        bytes32[] calldata
    ) external {
        _prove(FRAUD_MISPRICING);
    }

    /// @dev Has the verifier check the proof (the calldata, whose signature it shares, under
    /// this contract's domain), then checks what needs state: a meter ever authorised for the
    /// asset, the window, a committed price table, one payment per chain position. Then
    /// punishes: the user's compensation C and the challenger's bounty
    /// B = max(C, minBondOf(token) / 10) come from the bond, then from the supporters' active
    /// and unbonding stake pro rata (pending stake is not at risk yet); when both fall short
    /// the user is paid first. The meter is revoked, the asset frozen and its pending batches
    /// vetoed.
    function _prove(uint8 kind) private nonReentrant {
        // Never taken (kind is 1 to 3); a recursive function is not inlined, so the three
        // entry points share this body instead of carrying a copy each (EIP-170 size limit).
        if (kind == 0) return _prove(FRAUD_EQUIVOCATION);
        // All of it runs in the linked library, on this contract's storage (EIP-170 size limit).
        RMAPenalty.prove(
            _assets,
            _risk,
            _slashes,
            _meters,
            _everMeter,
            _batchRecords,
            _epochRebates,
            _priceTables,
            _minBond,
            _proven,
            address(fraudVerifier),
            proofWindow,
            msg.data,
            kind
        );
    }

    /// @notice Lifts a fraud freeze. Only the issuer, with the bond back at `minBondOf(token)`.
    /// After a stake slash it also records the accumulator the epoch ends with (see `Slash`).
    function resume(bytes32 assetId) external {
        Asset storage a = _assets[assetId];
        if (a.issuer != msg.sender) revert NotIssuer();
        uint8 status = a.status;
        if (status & FROZEN == 0) revert NotFrozen();
        uint256 required = _minBond[a.token];
        if (_risk[assetId].bond < required) revert BondTooLow(required);
        // The asset can settle again: the accumulator of this epoch's slashes is final.
        if (status & SLASHED != 0) _slashRps[assetId][a.epoch] = a.rewardPerStake;
        a.status = status & ~(FROZEN | SLASHED);
        emit AssetResumed(assetId);
    }

    /// @notice Commits a price table (the Merkle root of its entries) for the asset's receipts
    /// to name in `priceTable`. Only the issuer; a root is committed once.
    function commitPriceTable(
        bytes32 assetId,
        bytes32 root,
        uint64 effectiveFrom,
        string calldata uri
    ) external {
        if (_assets[assetId].issuer != msg.sender) revert NotIssuer();
        if (root == bytes32(0)) revert InvalidPriceTable();
        mapping(bytes32 => uint256) storage tables = _priceTables[assetId];
        if (tables[root] != 0) revert PriceTableExists();
        uint64 version = ++_risk[assetId].priceTables;
        tables[root] = uint256(version) << 64 | effectiveFrom;
        emit PriceTableCommitted(assetId, root, version, effectiveFrom, uri);
    }

    /// @notice A committed price table's version (1, 2, ...; 0 = not committed) and
    /// effectiveFrom.
    function priceTableOf(bytes32 assetId, bytes32 root)
        external
        view
        returns (uint64 version, uint64 effectiveFrom)
    {
        uint256 packed = _priceTables[assetId][root];
        return (uint64(packed >> 64), uint64(packed));
    }

    /// @notice Sets the bond every new asset paid in `token` posts at registration, and that
    /// {resume} requires. Only the owner. Existing bonds are not topped up.
    function setMinBond(address token, uint256 amount) external onlyOwner {
        if (amount > MAX_AMOUNT) revert AmountTooLarge(MAX_AMOUNT);
        _minBond[token] = amount;
        emit MinBondSet(token, amount);
    }

    function minBondOf(address token) external view returns (uint256) {
        return _minBond[token];
    }

    /// @notice Adds what arrives of `amount` to the asset's issuer bond. Anyone.
    function postBond(bytes32 assetId, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        address token = _assets[assetId].token;
        if (token == address(0)) revert UnknownAsset();
        _addBond(assetId, _pull(token, amount));
    }

    /// @notice Pays `amount` of the bond to the issuer. Exit rule: only with no meter
    /// authorised and `proofWindow` passed since the last revocation, so every receipt a
    /// meter signed before it was revoked is too old to prove anything when the bond leaves.
    function withdrawBond(bytes32 assetId, uint256 amount) external nonReentrant {
        Asset storage a = _assets[assetId];
        if (a.issuer != msg.sender) revert NotIssuer();
        if (amount == 0) revert ZeroAmount();
        Risk storage k = _risk[assetId];
        if (k.meters != 0) revert BondLocked(0);
        uint256 at = uint256(k.lastRevocation) + proofWindow + 1;
        if (block.timestamp < at) revert BondLocked(uint64(at));
        uint256 bond = k.bond;
        if (amount > bond) revert InsufficientBond(bond);
        k.bond = uint112(bond - amount);
        IERC20(a.token).safeTransfer(msg.sender, amount);
        emit BondWithdrawn(assetId, msg.sender, amount);
    }

    function bondOf(bytes32 assetId) external view returns (uint256) {
        return _risk[assetId].bond;
    }

    /// @notice An asset's risk summary: its bond, whether a fraud froze it, what fraud proofs
    /// took in all, and how many meters are authorised.
    function riskOf(bytes32 assetId)
        external
        view
        returns (uint256 bond, bool frozen, uint256 totalSlashed, uint256 meters)
    {
        Risk storage k = _risk[assetId];
        return (k.bond, _assets[assetId].status & FROZEN != 0, k.totalSlashed, k.meters);
    }

    /// @notice A supporter's stake a fraud proof can slash now (active and unbonding; pending
    /// stake is not at risk) and what slashes took from it so far.
    function stakeAtRiskOf(bytes32 assetId, address supporter)
        external
        view
        returns (uint256 active, uint256 unbonding, uint256 slashed)
    {
        Synced memory v = _synced(assetId, _assets[assetId], _supporters[assetId][supporter]);
        return (v.active, v.unbonding, v.slashed);
    }

    /// @notice Whether `meter` was ever authorised for the asset (its receipts can prove a
    /// fraud within the window, revoked or not).
    function wasMeter(bytes32 assetId, address meter) external view returns (bool) {
        return _everMeter[assetId][meter];
    }

    /// @notice Whether a fraud proof already paid for the chain position.
    function isProven(bytes32 assetId, address meter, address user, uint64 seq)
        external
        view
        returns (bool)
    {
        return _proven[keccak256(abi.encode(assetId, meter, user, seq))];
    }

    function _addBond(bytes32 assetId, uint256 received) private {
        Risk storage k = _risk[assetId];
        uint256 bond = k.bond + received;
        if (bond > MAX_AMOUNT) revert AmountTooLarge(MAX_AMOUNT);
        k.bond = uint112(bond);
        emit BondPosted(assetId, msg.sender, received);
    }

    // ---------------------------------------------------------------- internal

    function _depositFor(address token, address from, address user, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        if (user == address(0)) revert ZeroAddress();
        if (_assetCount[token] == 0) revert UnknownToken();
        uint256 received = _pullFrom(token, from, amount);
        if (received == 0) revert ZeroAmount();
        Prepaid storage p = _prepaid[token][user];
        uint256 balance = p.balance + received;
        if (balance > MAX_AMOUNT) revert AmountTooLarge(MAX_AMOUNT);
        p.balance = uint112(balance);
        _prepaidTotal[token] += received;
        emit PrepaidDeposited(token, user, from, received);
    }

    /// @dev Checks and applies each voucher; the meter's authorisation is read once per run of
    /// vouchers of one meter (batches group them by meter).
    function _applyVouchers(
        bytes32 assetId,
        mapping(address => Prepaid) storage balances,
        uint256 usersBps,
        Voucher[] calldata vouchers
    ) private returns (uint256 debited, uint256 rebated, uint256 settled) {
        mapping(address => mapping(address => uint256)) storage chains = _settledVouchers[assetId];
        mapping(address => bool) storage meters = _meters[assetId];
        bytes32 separator = domainSeparator();
        address trusted;
        mapping(address => uint256) storage meterChains = chains[address(0)];
        for (uint256 i; i < vouchers.length; ++i) {
            Voucher calldata v = vouchers[i];
            address meter = v.meter;
            if (meter != trusted) {
                if (!meters[meter]) {
                    _skip(assetId, v, SkipReason.MeterNotAuthorised);
                    continue;
                }
                trusted = meter;
                meterChains = chains[meter];
            }
            (uint256 debit, uint256 rebate) =
                _applyVoucher(assetId, meterChains, balances, separator, usersBps, v);
            if (debit == 0) continue;
            unchecked {
                debited += debit;
                rebated += rebate;
                ++settled;
            }
        }
    }

    /// @dev One voucher of an authorised meter: cheap checks first, the signature before the
    /// balance, so a skipped voucher reports the first rule it breaks. Reads and writes two
    /// slots: the chain's settled voucher and the user's balance, net of its rebate. Returns
    /// zeros when skipped (an applied voucher debits at least 1: its cumulative amount grew).
    function _applyVoucher(
        bytes32 assetId,
        mapping(address => uint256) storage chains,
        mapping(address => Prepaid) storage balances,
        bytes32 separator,
        uint256 usersBps,
        Voucher calldata v
    ) private returns (uint256 debit, uint256 rebate) {
        address user = v.user;
        uint64 seq = v.seq;
        uint256 packed = chains[user];
        uint256 cumulative = v.cumulativeAmount;
        uint256 before = packed & MAX_CUMULATIVE;
        if (seq <= packed >> 192 || cumulative <= before) {
            _skip(assetId, v, SkipReason.NotNewer);
            return (0, 0);
        }
        if (cumulative > MAX_CUMULATIVE) {
            _skip(assetId, v, SkipReason.OutOfRange);
            return (0, 0);
        }
        if (!_signedBy(separator, assetId, user, seq, cumulative, v)) {
            _skip(assetId, v, SkipReason.BadSignature);
            return (0, 0);
        }
        // The balance is the low 112 bits of the user's slot: read the word once, rewrite it
        // with the request fields as they were.
        Prepaid storage p = balances[user];
        uint256 word;
        assembly ("memory-safe") {
            word := sload(p.slot)
        }
        uint256 balance = word & MAX_AMOUNT;
        debit = cumulative - before;
        if (debit > balance) {
            _skip(assetId, v, SkipReason.InsufficientBalance);
            return (0, 0);
        }
        uint256 updated;
        unchecked {
            // debit <= balance < 2^112 and usersBps <= 10,000: no overflow, rebate <= debit.
            rebate = debit * usersBps / BPS;
            updated = (word & ~MAX_AMOUNT) | (balance - debit + rebate);
        }
        assembly ("memory-safe") {
            sstore(p.slot, updated)
        }
        // seq < 2^64 and cumulative < 2^192 share the chain's slot.
        chains[user] = (uint256(seq) << 192) | cumulative;
        emit VoucherSettled(user, debit);
    }

    function _skip(bytes32 assetId, Voucher calldata v, SkipReason reason) private {
        // Never taken (a reason is one of five); a recursive function is not inlined, so the
        // five skips share this body instead of carrying a copy each (EIP-170 size limit).
        if (uint8(reason) > uint8(SkipReason.InsufficientBalance)) {
            return _skip(assetId, v, SkipReason.NotNewer);
        }
        emit VoucherSkipped(assetId, v.meter, v.user, v.seq, reason);
    }

    /// @dev Whether `v` carries its user's signature of its ack (one `ecrecover`). Rejects the
    /// zero user (what `ecrecover` returns on failure) and high-`s` signatures.
    function _signedBy(
        bytes32 separator,
        bytes32 assetId,
        address user,
        uint64 seq,
        uint256 cumulative,
        Voucher calldata v
    ) private pure returns (bool) {
        if (user == address(0)) return false;
        uint256 vs = uint256(v.vs);
        uint256 s = vs & ((1 << 255) - 1);
        if (s > HALF_ORDER) return false;
        bytes32 digest = _ackDigest(separator, assetId, user, v.meter, seq, v.receiptHash, cumulative);
        return ecrecover(digest, uint8((vs >> 255) + 27), v.r, bytes32(s)) == user;
    }

    function _ackDigest(
        bytes32 separator,
        bytes32 assetId,
        address user,
        address meter,
        uint64 seq,
        bytes32 receiptHash,
        uint256 cumulativeAmount
    ) private pure returns (bytes32 digest) {
        bytes32 typeHash = RECEIPT_ACK_TYPEHASH;
        // keccak256(abi.encode(typeHash, ...)), then "\x19\x01" ‖ separator ‖ structHash, in
        // memory past the free pointer (left as is: nothing is allocated per voucher).
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typeHash)
            mstore(add(m, 0x20), assetId)
            mstore(add(m, 0x40), and(user, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(add(m, 0x60), and(meter, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(add(m, 0x80), and(seq, 0xffffffffffffffff))
            mstore(add(m, 0xa0), receiptHash)
            mstore(add(m, 0xc0), cumulativeAmount)
            let structHash := keccak256(m, 0xe0)
            mstore(m, 0x1901)
            mstore(add(m, 0x20), separator)
            mstore(add(m, 0x40), structHash)
            digest := keccak256(add(m, 0x1e), 0x42)
        }
    }

    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(
            abi.encode(
                DOMAIN_TYPEHASH, keccak256("RMA"), keccak256("1"), block.chainid, address(this)
            )
        );
    }

    /// @dev See `RMAPenalty.setMeter` (one rule for {setMeter} and fraud revocations).
    function _setMeter(bytes32 assetId, address meter, bool allowed) private {
        RMAPenalty.setMeter(
            assetId, _meters[assetId], _everMeter[assetId], _risk[assetId], meter, allowed
        );
    }

    /// @dev Pulls `amount` from the caller and returns what arrived (a fee-on-transfer token
    /// delivers less; a token that delivers more is credited only what was asked).
    function _pull(address token, uint256 amount) private returns (uint256) {
        return _pullFrom(token, msg.sender, amount);
    }

    /// @dev {_pull} from `from`.
    function _pullFrom(address token, address from, uint256 amount) private returns (uint256) {
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(from, address(this), amount);
        uint256 received = IERC20(token).balanceOf(address(this)) - before;
        return received < amount ? received : amount;
    }

    /// @dev The split of one settlement's revenue, the same for both modes: supporters, users
    /// and protocol get `floor(revenue * bps / 10000)`, the issuer the rest (its share plus the
    /// rounding dust), exactly like `splitRevenue` of the core package.
    function _split(Asset storage a, uint256 revenue)
        private
        view
        returns (uint256 issuer, uint256 supporters, uint256 users, uint256 protocol)
    {
        supporters = revenue * a.supportersBps / BPS;
        users = revenue * a.usersBps / BPS;
        protocol = revenue * a.protocolBps / BPS;
        issuer = revenue - supporters - users - protocol;
    }

    /// @dev Moves an asset to epoch `next` and adds a settlement's issuer and supporters'
    /// shares to their cumulative counters (wrapping modulo 2^112): slot 1, which holds
    /// exactly these three fields, in one write. Field by field, the compiler re-reads and
    /// rewrites the slot per field (two warm reads and writes more per settle).
    function _closeEpoch(Asset storage a, uint256 next, uint256 issuer, uint256 supporters)
        private
    {
        uint256 word;
        unchecked {
            // 2^32 - 1 epochs: one a minute for 8,000 years.
            word = uint256(uint32(next))
                | uint256(uint112(a.issuerFunded + uint112(issuer))) << 32
                | uint256(uint112(a.supportersFunded + uint112(supporters))) << 144;
        }
        assembly ("memory-safe") {
            sstore(add(a.slot, 1), word)
        }
    }

    /// @dev {settle} of an asset with a challenge window or pending batches: releases the
    /// oldest pending batch if it is due, then records this one as pending in one rewritten
    /// record slot (its revenue, and `releasableAt`: now plus the window, neither chosen by the
    /// settler) and posts its rebate root with no funding (claims revert `EpochPending`). Pending
    /// stake activates as at any settle: epochs stay the time at risk.
    function _settlePending(
        bytes32 assetId,
        Asset storage a,
        uint256 next,
        uint256 received,
        uint256 users,
        bytes32 rebateRoot,
        uint256 window
    ) private {
        uint256 count = a.status >> COUNT_SHIFT;
        mapping(uint256 => uint256) storage records = _batchRecords[assetId];
        // The oldest pending batch's due time, from slot 2: its record is read only to release
        // it.
        uint256 headDue = a.headDue;
        if (count != 0) {
            if (block.timestamp >= headDue) {
                uint256 head = next - count;
                _release(assetId, a, head, records[head % MAX_PENDING_BATCHES]);
                if (--count != 0) {
                    headDue = uint64(records[(head + 1) % MAX_PENDING_BATCHES] >> 112);
                }
            } else if (count == MAX_PENDING_BATCHES) {
                revert TooManyPending(uint64(headDue));
            }
        }
        a.epoch = uint32(next);
        if (users != 0) {
            if (users > AMOUNT_MASK) revert AmountTooLarge(AMOUNT_MASK);
            if (bytes20(rebateRoot) == bytes20(0)) revert MissingRebateRoot();
            _epochRebates[assetId][next] = uint256(rebateRoot) & ~AMOUNT_MASK;
        }
        uint256 due = block.timestamp + window;
        // The copy in slot 2 has 32 bits: never truncated (until 2106 no settle reverts here).
        if (due > type(uint32).max) revert AmountTooLarge(type(uint32).max);
        records[next % MAX_PENDING_BATCHES] = RECORD_USED | due << 112 | received;
        if (count == 0) headDue = due;
        // The pending count (status bits 4-7, slot bits 220-223) and `headDue` (bits 224-255)
        // in one write of slot 2; re-read, as a release may have changed a flag.
        assembly ("memory-safe") {
            let slot := add(a.slot, 2)
            sstore(
                slot,
                or(
                    and(sload(slot), sub(shl(220, 1), 1)),
                    or(shl(220, add(count, 1)), shl(224, headDue))
                )
            )
        }
    }

    /// @dev Credits a pending batch's split, as {settle} does without a window, and funds its
    /// rebate root. The caller removes it from the pending count.
    function _release(bytes32 assetId, Asset storage a, uint256 epoch, uint256 record) private {
        uint256 revenue = uint112(record);
        (uint256 issuer, uint256 supporters, uint256 users, uint256 protocol) = _split(a, revenue);
        _closeEpoch(a, a.epoch, issuer, supporters);
        if (users != 0) {
            unchecked {
                a.rebatesFunded += uint96(users);
            }
            // users <= AMOUNT_MASK (checked at settle), under the root posted then.
            _epochRebates[assetId][epoch] |= users;
        }
        unchecked {
            if (protocol != 0) a.protocolFunded += uint112(protocol);
        }
        // Credit without activating pending stake: stake activates at settles only (epochs are
        // the time at risk), so the flag is lowered around the credit.
        bool hasPending = a.hasPending;
        if (hasPending) a.hasPending = false;
        _creditSupporters(assetId, a, epoch, supporters);
        if (hasPending) a.hasPending = true;
        emit BatchReleased(assetId, uint64(epoch), revenue);
    }

    /// @dev Writes every record slot of the asset once (a marker), so each settle with a window
    /// rewrites a used slot (2,900 gas) instead of filling a fresh one (22,100).
    function _prepareRecords(bytes32 assetId) private {
        mapping(uint256 => uint256) storage records = _batchRecords[assetId];
        if (records[0] != 0) return;
        for (uint256 i; i < MAX_PENDING_BATCHES; ++i) {
            records[i] = RECORD_USED;
        }
    }

    /// @dev The record of the asset's batch of `epoch` (its revenue and `releasableAt`, never
    /// zero), or 0 if it is not pending.
    function _pendingRecord(bytes32 assetId, uint256 epoch) private view returns (uint256) {
        Asset storage a = _assets[assetId];
        uint256 last = a.epoch;
        if (epoch > last || epoch + (a.status >> COUNT_SHIFT) <= last) return 0;
        return _batchRecords[assetId][epoch % MAX_PENDING_BATCHES];
    }

    /// @dev Credits the supporters' share plus what was held, up to the active stake, through
    /// the accumulator; holds the rest; then activates pending stake (after the credit, so it
    /// earns from the next settle) and checkpoints the accumulator for it.
    function _creditSupporters(bytes32 assetId, Asset storage a, uint256 epoch, uint256 share)
        private
    {
        bool hasHeld = a.status & HELD != 0;
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
            if ((rest != 0) != hasHeld) a.status ^= HELD;
            emit SupportersShareHeld(assetId, uint64(epoch), rest);
        }
        if (hasPending) {
            _activation[assetId][epoch] = rps;
            a.totalStake = uint96(total + a.pendingStake);
            a.pendingStake = 0;
            a.hasPending = false;
        }
    }

    /// @dev A supporter as it stands after every settle and stake slash so far.
    struct Synced {
        uint256 active;
        uint256 pending;
        uint256 pendingEpoch;
        uint256 paid;
        uint256 accrued;
        uint256 unbonding;
        uint256 slashed;
        uint256 slashIndex;
    }

    /// @dev The supporter as it stands after every settle and slash so far: active and pending
    /// stake, the pending stake's activation epoch, the accumulator snapshot, rewards accrued,
    /// unbonding stake and what slashes took. Slashes proven since its last update are applied
    /// in order, each at the accumulator value it was recorded with, so rewards before a slash
    /// accrue on the stake before it; pending stake activated by a settle up to the slash's
    /// epoch was at risk and is slashed, later pending stake is not.
    function _synced(bytes32 assetId, Asset storage a, Supporter storage s)
        private
        view
        returns (Synced memory v)
    {
        v.active = s.active;
        v.pending = s.pending;
        v.pendingEpoch = s.pendingEpoch;
        v.paid = s.rewardPerStakePaid;
        v.accrued = s.accrued;
        v.unbonding = s.unbonding;
        v.slashed = s.slashed;
        mapping(uint256 => Slash) storage slashes = _slashes[assetId];
        uint256 n = _risk[assetId].slashes;
        uint256 epoch = a.epoch;
        for (uint256 i = s.slashIndex; i < n; ++i) {
            Slash storage slash = slashes[i];
            uint256 slashEpoch = slash.epoch;
            if (v.pending != 0 && slashEpoch >= v.pendingEpoch) _activate(assetId, v);
            uint256 at = slashEpoch == epoch ? a.rewardPerStake : _slashRps[assetId][slashEpoch];
            v.accrued += v.active * (at - v.paid) / REWARD_SCALE;
            v.paid = at;
            uint256 num = slash.num;
            uint256 den = slash.den;
            uint256 active = v.active * num / den;
            uint256 unbonding = v.unbonding * num / den;
            v.slashed += v.active - active + v.unbonding - unbonding;
            v.active = active;
            v.unbonding = unbonding;
        }
        v.slashIndex = n;
        if (v.pending != 0 && epoch >= v.pendingEpoch) _activate(assetId, v);
        uint256 rps = a.rewardPerStake;
        v.accrued += v.active * (rps - v.paid) / REWARD_SCALE;
        v.paid = rps;
    }

    /// @dev Activates pending stake at the accumulator of its activation settle.
    function _activate(bytes32 assetId, Synced memory v) private view {
        uint256 at = _activation[assetId][v.pendingEpoch];
        v.accrued += v.active * (at - v.paid) / REWARD_SCALE;
        v.paid = at;
        v.active += v.pending;
        v.pending = 0;
        v.pendingEpoch = 0;
    }

    /// @dev Brings a supporter up to date (activates its pending stake if a settle did, applies
    /// slashes, credits what its active stake earned); runs before any change to its stake.
    function _sync(bytes32 assetId, Asset storage a, Supporter storage s) private {
        Synced memory v = _synced(assetId, a, s);
        // Credits above 2^96 revert: such a supporter claims first (which pays and resets).
        if (v.accrued > type(uint96).max) revert AmountTooLarge(type(uint96).max);
        _store(s, v);
    }

    function _store(Supporter storage s, Synced memory v) private {
        if (v.pending != s.pending || v.active != s.active) {
            s.active = uint96(v.active);
            s.pending = uint96(v.pending);
            s.pendingEpoch = uint32(v.pendingEpoch);
        }
        if (v.paid != s.rewardPerStakePaid || v.accrued != s.accrued) {
            s.rewardPerStakePaid = uint160(v.paid);
            s.accrued = uint96(v.accrued);
        }
        if (v.slashIndex != s.slashIndex) {
            s.unbonding = uint96(v.unbonding);
            s.slashIndex = uint32(v.slashIndex);
            s.slashed = uint96(v.slashed);
        }
    }

    /// @dev Checks one epoch's claim and records it; the caller pays. The epoch's slot holds
    /// its root prefix and its unclaimed funding: a claim above what is left reverts, so an
    /// epoch never pays out more than it funded (H1), whatever root it carries.
    function _claimRebate(
        bytes32 assetId,
        uint64 epoch,
        address user,
        uint256 amount,
        bytes32[] calldata proof
    ) private {
        mapping(uint256 => uint256) storage rebates = _epochRebates[assetId];
        uint256 packed = rebates[epoch];
        bytes32 root = _rebateRootOf(user, amount, proof);
        if (packed == 0 || bytes20(root) != bytes20(bytes32(packed))) {
            revert InvalidProof();
        }
        mapping(uint256 => uint256) storage bits = _rebateBits[assetId][user];
        uint256 word = bits[epoch >> 8];
        uint256 bit = 1 << (epoch & 0xff);
        if (word & bit != 0) revert RebateAlreadyClaimed(epoch);
        if (amount == 0) revert NothingToClaim();
        if (amount > packed & AMOUNT_MASK) {
            // A pending epoch's root is posted with no funding: say when it will have some.
            uint256 record = _pendingRecord(assetId, epoch);
            if (record != 0) revert EpochPending(uint64(record >> 112));
            revert RebatesExceedFunded(epoch);
        }
        bits[epoch >> 8] = word | bit;
        unchecked {
            // amount <= the remaining funding: the root prefix above it is untouched.
            rebates[epoch] = packed - amount;
        }
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

    function _ledger(bytes32 assetId, Asset storage a) private view returns (uint256) {
        return uint256(_risk[assetId].bond) + a.totalStake + a.pendingStake + a.totalUnbonding
            + a.settlerDeposit + a.otherDeposits + _pendingRevenue(assetId, a)
            + _owed(a.issuerFunded, a.issuerClaimed) + _owed(a.supportersFunded, a.supportersClaimed)
            + _owed96(a.rebatesFunded, a.rebatesClaimed)
            + _owed(_protocolFunded(assetId, a), a.protocolClaimed);
    }

    /// @dev The protocol's funded counter with the stake slashes' rounding units (see
    /// `Risk.slashDust`), modulo 2^112 like the counter.
    function _protocolFunded(bytes32 assetId, Asset storage a) private view returns (uint112) {
        unchecked {
            return a.protocolFunded + _risk[assetId].slashDust;
        }
    }

    /// @dev The revenue of the asset's pending batches (held until released or vetoed).
    function _pendingRevenue(bytes32 assetId, Asset storage a) private view returns (uint256 sum) {
        uint256 count = a.status >> COUNT_SHIFT;
        uint256 last = a.epoch;
        mapping(uint256 => uint256) storage records = _batchRecords[assetId];
        for (uint256 e = last + 1 - count; e <= last; ++e) {
            sum += uint112(records[e % MAX_PENDING_BATCHES]);
        }
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
            owed += _ledger(id, a);
            previous = id;
        }
        owed += _prepaidTotal[token];
    }
}
