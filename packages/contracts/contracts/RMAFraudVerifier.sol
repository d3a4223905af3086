// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @notice A meter's signed usage receipt, field for field the EIP-712 `UsageReceipt` of the
/// core package (`usageSource`: 0 reported, 1 estimated, 2 partial).
struct Receipt {
    bytes32 assetId;
    address meter;
    address user;
    uint64 seq;
    bytes32 prev;
    bytes32 requestHash;
    bytes32 responseHash;
    string model;
    uint64 inputTokens;
    uint64 cachedInputTokens;
    uint64 cacheWriteTokens;
    uint64 outputTokens;
    uint64 reasoningTokens;
    uint8 usageSource;
    uint256 amount;
    uint256 cumulativeAmount;
    bytes32 priceTable;
    bytes32 attestation;
    uint64 timestamp;
}

/// @notice A user's signed request attestation (EIP-712 `RequestAttestation`).
struct Attestation {
    bytes32 assetId;
    address user;
    bytes32 requestHash;
    uint256 nonce;
    uint64 expiry;
    uint256 maxAmount;
}

/// @notice One leaf of a committed price table: a model name (or alias) and its prices per
/// million tokens, in payment-token base units.
struct PriceEntry {
    string model;
    uint256 input;
    uint256 cachedInput;
    uint256 cacheWrite;
    uint256 output;
    uint256 reasoning;
}

/// @notice What a valid fraud proof establishes, for the settlement contract to act on.
struct Finding {
    bytes32 assetId;
    address meter;
    address user;
    uint64 seq;
    /// The oldest timestamp of the receipts the proof uses (the window is checked against it).
    uint64 timestamp;
    /// The price table the receipt names (mispricing only; zero otherwise).
    bytes32 priceTable;
    /// The EIP-712 digest of the (first) receipt.
    bytes32 receiptHash;
    /// What the user was overcharged: the amount the settlement contract compensates.
    uint256 compensation;
}

/// @title RMA fraud verifier: the pure part of the settlement contract's fraud proofs.
/// @notice Stateless. Each `prove*` function has exactly the signature of the settlement
/// contract's entry point of the same name, which forwards its calldata here unchanged and
/// acts on the returned {Finding}. Signatures are checked against the EIP-712 domain of the
/// CALLER (name "RMA", version "1", this chain, `msg.sender`): called by the settlement
/// contract, that is the settlement contract's domain, the one receipts are signed in. A call
/// from anywhere else verifies under that caller's domain, so it proves nothing about the
/// settlement contract's receipts. Reverts with a typed error for every bad input.
contract RMAFraudVerifier {
    bytes32 public constant RECEIPT_TYPEHASH = keccak256(
        "UsageReceipt(bytes32 assetId,address meter,address user,uint64 seq,bytes32 prev,bytes32 requestHash,bytes32 responseHash,string model,uint64 inputTokens,uint64 cachedInputTokens,uint64 cacheWriteTokens,uint64 outputTokens,uint64 reasoningTokens,uint8 usageSource,uint256 amount,uint256 cumulativeAmount,bytes32 priceTable,bytes32 attestation,uint64 timestamp)"
    );
    bytes32 public constant ATTESTATION_TYPEHASH = keccak256(
        "RequestAttestation(bytes32 assetId,address user,bytes32 requestHash,uint256 nonce,uint64 expiry,uint256 maxAmount)"
    );
    bytes32 private constant DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    );
    /// @dev secp256k1n / 2: a larger `s` is the malleable twin of a valid signature.
    uint256 private constant HALF_ORDER =
        0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    /// @notice A receipt signature is malformed, high-s, or not its meter's for this domain
    /// (another chain, another contract, or an altered receipt).
    error InvalidReceiptSignature();
    /// @notice The attestation is not signed by the receipt's user for this domain.
    error InvalidAttestationSignature();
    /// @notice The attestation is not the one the receipt answers (asset, request hash or the
    /// receipt's `attestation` digest differ).
    error AttestationMismatch();
    /// @notice The two receipts are the same receipt.
    error IdenticalReceipts();
    /// @notice The two receipts are not of the same (asset, meter, user, seq).
    error NotSameSeq();
    /// @notice The price entry is not a leaf of the receipt's price table.
    error InvalidPriceProof();
    /// @notice The price entry's model is neither the receipt's model nor its snapshot base.
    error ModelMismatch();
    /// @notice The receipt is honest on this count: nothing to compensate.
    error NotFraud();

    /// @notice Two receipts of one chain position with different contents: compensation is
    /// the larger amount.
    function proveEquivocation(
        Receipt calldata a,
        bytes calldata sigA,
        Receipt calldata b,
        bytes calldata sigB
    ) external view returns (Finding memory f) {
        bytes32 separator = _callerDomain();
        bytes32 hashA = _checkReceipt(separator, a, sigA);
        bytes32 hashB = _checkReceipt(separator, b, sigB);
        if (a.assetId != b.assetId || a.meter != b.meter || a.user != b.user || a.seq != b.seq) {
            revert NotSameSeq();
        }
        if (hashA == hashB) revert IdenticalReceipts();
        f = _finding(a, hashA, a.amount > b.amount ? a.amount : b.amount);
        if (b.timestamp < a.timestamp) f.timestamp = b.timestamp;
    }

    /// @notice A receipt charging more than the `maxAmount` of the attestation it answers:
    /// compensation is the excess.
    function proveOvercharge(
        Receipt calldata r,
        bytes calldata sigR,
        Attestation calldata att,
        bytes calldata sigAtt
    ) external view returns (Finding memory f) {
        bytes32 separator = _callerDomain();
        bytes32 hash = _checkReceipt(separator, r, sigR);
        bytes32 attDigest = attestationDigest(separator, att);
        address user = r.user;
        if (user == address(0) || att.user != user || _recover(attDigest, sigAtt) != user) {
            revert InvalidAttestationSignature();
        }
        if (
            att.assetId != r.assetId || att.requestHash != r.requestHash
                || r.attestation != attDigest
        ) revert AttestationMismatch();
        if (r.amount <= att.maxAmount) revert NotFraud();
        f = _finding(r, hash, r.amount - att.maxAmount);
    }

    /// @notice A receipt charging more than its own price table's price for its tokens:
    /// compensation is the difference. The settlement contract checks that the table is
    /// committed for the asset.
    function proveMispricing(
        Receipt calldata r,
        bytes calldata sigR,
        PriceEntry calldata entry,
        bytes32[] calldata proof
    ) external view returns (Finding memory f) {
        bytes32 hash = _checkReceipt(_callerDomain(), r, sigR);
        if (!MerkleProof.verifyCalldata(proof, r.priceTable, leafOf(entry))) {
            revert InvalidPriceProof();
        }
        if (!modelMatches(r.model, entry.model)) revert ModelMismatch();
        uint256 price = priceOf(entry, r);
        if (r.amount <= price) revert NotFraud();
        f = _finding(r, hash, r.amount - price);
        f.priceTable = r.priceTable;
    }

    /// @notice The EIP-712 digest of a receipt under `separator` (the core `hashReceipt`).
    function receiptDigest(bytes32 separator, Receipt calldata r) public pure returns (bytes32) {
        // Two encodings of static words, concatenated, are the one encoding of all of them.
        bytes32 structHash = keccak256(
            bytes.concat(
                abi.encode(
                    RECEIPT_TYPEHASH,
                    r.assetId,
                    r.meter,
                    r.user,
                    r.seq,
                    r.prev,
                    r.requestHash,
                    r.responseHash,
                    keccak256(bytes(r.model)),
                    r.inputTokens
                ),
                abi.encode(
                    r.cachedInputTokens,
                    r.cacheWriteTokens,
                    r.outputTokens,
                    r.reasoningTokens,
                    r.usageSource,
                    r.amount,
                    r.cumulativeAmount,
                    r.priceTable,
                    r.attestation,
                    r.timestamp
                )
            )
        );
        return keccak256(abi.encodePacked(hex"1901", separator, structHash));
    }

    /// @notice The EIP-712 digest of an attestation under `separator` (the core
    /// `hashAttestation`).
    function attestationDigest(bytes32 separator, Attestation calldata att)
        public
        pure
        returns (bytes32)
    {
        bytes32 structHash = keccak256(
            abi.encode(
                ATTESTATION_TYPEHASH,
                att.assetId,
                att.user,
                att.requestHash,
                att.nonce,
                att.expiry,
                att.maxAmount
            )
        );
        return keccak256(abi.encodePacked(hex"1901", separator, structHash));
    }

    /// @notice The price-table leaf of an entry: OpenZeppelin StandardMerkleTree's
    /// `keccak256(bytes.concat(keccak256(abi.encode(model, input, cachedInput, cacheWrite,
    /// output, reasoning))))`.
    function leafOf(PriceEntry calldata e) public pure returns (bytes32) {
        return keccak256(
            bytes.concat(
                keccak256(
                    abi.encode(e.model, e.input, e.cachedInput, e.cacheWrite, e.output, e.reasoning)
                )
            )
        );
    }

    /// @notice The price of a receipt's tokens under `e`, the core `priceTokens` rule:
    /// `ceil(((in - cached - cacheWrite) * input + cached * cachedInput + cacheWrite *
    /// cacheWrite + (out - reasoning) * output + reasoning * reasoning) / 1e6)`. A malformed
    /// receipt (cached + cacheWrite > in, or reasoning > out) counts its uncached input (or
    /// non-reasoning output) as 0: every listed token is still priced, so the malformation
    /// never lowers the price a meter is held to. Prices whose products overflow revert.
    function priceOf(PriceEntry calldata e, Receipt calldata r) public pure returns (uint256) {
        uint256 inputTokens = r.inputTokens;
        uint256 cached = r.cachedInputTokens;
        uint256 written = r.cacheWriteTokens;
        uint256 outputTokens = r.outputTokens;
        uint256 reasoning = r.reasoningTokens;
        uint256 uncached = inputTokens > cached + written ? inputTokens - cached - written : 0;
        uint256 plainOutput = outputTokens > reasoning ? outputTokens - reasoning : 0;
        uint256 micro = uncached * e.input + cached * e.cachedInput + written * e.cacheWrite
            + plainOutput * e.output + reasoning * e.reasoning;
        return (micro + 999_999) / 1_000_000;
    }

    /// @notice Whether a receipt's `model` is priced by the leaf named `entryModel`: the same
    /// name, or the name with its snapshot suffix (`-YYYY-MM-DD` or `-NNNN`) removed.
    function modelMatches(string calldata model, string calldata entryModel)
        public
        pure
        returns (bool)
    {
        bytes calldata m = bytes(model);
        bytes calldata e = bytes(entryModel);
        if (keccak256(m) == keccak256(e)) return true;
        uint256 base = _snapshotBaseLength(m);
        return base != 0 && base == e.length && keccak256(m[:base]) == keccak256(e);
    }

    /// @dev The length of `m` without its snapshot suffix, or 0 without one.
    function _snapshotBaseLength(bytes calldata m) private pure returns (uint256) {
        uint256 n = m.length;
        // -YYYY-MM-DD
        if (
            n > 11 && m[n - 11] == "-" && _digits(m[n - 10:n - 6]) && m[n - 6] == "-"
                && _digits(m[n - 5:n - 3]) && m[n - 3] == "-" && _digits(m[n - 2:])
        ) return n - 11;
        // -NNNN
        if (n > 5 && m[n - 5] == "-" && _digits(m[n - 4:])) return n - 5;
        return 0;
    }

    function _digits(bytes calldata s) private pure returns (bool) {
        for (uint256 i; i < s.length; ++i) {
            if (s[i] < "0" || s[i] > "9") return false;
        }
        return true;
    }

    function _finding(Receipt calldata r, bytes32 hash, uint256 compensation)
        private
        pure
        returns (Finding memory f)
    {
        f.assetId = r.assetId;
        f.meter = r.meter;
        f.user = r.user;
        f.seq = r.seq;
        f.timestamp = r.timestamp;
        f.receiptHash = hash;
        f.compensation = compensation;
    }

    function _checkReceipt(bytes32 separator, Receipt calldata r, bytes calldata sig)
        private
        pure
        returns (bytes32 hash)
    {
        hash = receiptDigest(separator, r);
        address meter = r.meter;
        if (meter == address(0) || _recover(hash, sig) != meter) revert InvalidReceiptSignature();
    }

    /// @dev The signer of a 65-byte r‖s‖v signature (v 27/28 or 0/1), or zero when it is
    /// malformed or high-s.
    function _recover(bytes32 digest, bytes calldata sig) private pure returns (address) {
        if (sig.length != 65) return address(0);
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        if (v < 27) v += 27;
        if (uint256(s) > HALF_ORDER || (v != 27 && v != 28)) return address(0);
        return ecrecover(digest, v, r, s);
    }

    function _callerDomain() private view returns (bytes32) {
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("RMA"), keccak256("1"), block.chainid, msg.sender)
        );
    }
}
