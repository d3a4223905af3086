import { ContractFactory, type ContractTransactionReceipt, type Signer } from 'ethers'
import { rmaFraudVerifierAbi, rmaFraudVerifierBytecode } from './artifacts/RMAFraudVerifier.js'
import { rmaPenaltyBytecode } from './artifacts/RMAPenalty.js'
import {
  rmaSettlementAbi,
  rmaSettlementBytecode,
  rmaSettlementLinkReferences,
} from './artifacts/RMASettlement.js'
import { TransactionNotMinedError } from './errors.js'
import { getSettlementContract } from './getSettlementContract.js'
import { linkBytecode } from './linkBytecode.js'
import type { RmaSettlementContract } from './types.js'

export type DeploySettlementParameters = {
  /** The owner, who receives protocol fees (default: the deployer). */
  owner?: string
  /**
   * Seconds between a prepaid `requestWithdrawal` and its `withdraw` (1 hour to 30 days,
   * default 1 day; fixed for the contract's life). Rule: at least the longest settlement
   * interval of any asset paid through it plus a margin, so vouchers acked before a request
   * settle before the money can leave.
   */
  withdrawalDelay?: number | bigint
  /**
   * Seconds after a receipt's timestamp during which it can prove a fraud (default 1 day, at
   * most 365 days; fixed for the contract's life). Every asset's unbonding delay must be at
   * least this long, so stake at risk when a receipt was signed is still there to slash.
   */
  proofWindow?: number | bigint
  /**
   * The address of an already deployed `RMAFraudVerifier` (stateless, shareable by any number
   * of settlement contracts); default: deploy a new one.
   */
  fraudVerifier?: string
  /**
   * The address of an already deployed `RMAPenalty` library (stateless, linked into the
   * settlement bytecode and run by DELEGATECALL; shareable); default: deploy a new one.
   */
  penaltyLibrary?: string
  /**
   * The shortest challenge window (seconds) an asset may choose, and every new asset's window
   * (0 to 7 days, default 0: postpaid batches are claimable at once unless the issuer sets a
   * window; fixed for the contract's life).
   */
  minChallengeWindow?: number | bigint
}

export type DeploySettlementReturnType = {
  address: string
  /** The deployed contract, connected to the deployer. */
  contract: RmaSettlementContract
  receipt: ContractTransactionReceipt
  /** The fraud verifier the contract calls (its immutable `fraudVerifier`). */
  fraudVerifierAddress: string
  /** The `RMAPenalty` library linked into the contract (runs its fraud proofs' penalties). */
  penaltyLibraryAddress: string
}

/** The prepaid withdrawal delay `deploySettlement` uses unless told: 1 day. */
export const defaultWithdrawalDelay = 24 * 3600

/** The fraud-proof window `deploySettlement` uses unless told: 1 day. */
export const defaultProofWindow = 24 * 3600

/**
 * Deploys `RMASettlement` (and, unless given them, the `RMAFraudVerifier` it calls and the
 * `RMAPenalty` library linked into it: the contract alone would exceed EIP-170's 24,576
 * bytes) and waits for the deployments to be mined.
 *
 * @example
 * const { address, contract } = await deploySettlement(deployer, { owner: treasury.address, withdrawalDelay: 6 * 3600, minChallengeWindow: 3600 })
 */
export async function deploySettlement(
  signer: Signer,
  parameters: DeploySettlementParameters = {},
): Promise<DeploySettlementReturnType> {
  const owner = parameters.owner ?? (await signer.getAddress())
  let fraudVerifierAddress = parameters.fraudVerifier
  if (!fraudVerifierAddress) {
    const verifierFactory = new ContractFactory(
      rmaFraudVerifierAbi,
      rmaFraudVerifierBytecode,
      signer,
    )
    const verifier = await verifierFactory.deploy()
    if (!(await verifier.deploymentTransaction()?.wait()))
      throw new TransactionNotMinedError({ transaction: 'fraud verifier deployment' })
    fraudVerifierAddress = await verifier.getAddress()
  }
  let penaltyLibraryAddress = parameters.penaltyLibrary
  if (!penaltyLibraryAddress) {
    // An empty ABI: the library's functions take storage references (not callable directly).
    const library = await new ContractFactory([], rmaPenaltyBytecode, signer).deploy()
    if (!(await library.deploymentTransaction()?.wait()))
      throw new TransactionNotMinedError({ transaction: 'penalty library deployment' })
    penaltyLibraryAddress = await library.getAddress()
  }
  const bytecode = linkBytecode(rmaSettlementBytecode, rmaSettlementLinkReferences, {
    RMAPenalty: penaltyLibraryAddress,
  })
  const factory = new ContractFactory(rmaSettlementAbi, bytecode, signer)
  const deployed = await factory.deploy(
    owner,
    parameters.withdrawalDelay ?? defaultWithdrawalDelay,
    parameters.proofWindow ?? defaultProofWindow,
    fraudVerifierAddress,
    parameters.minChallengeWindow ?? 0,
  )
  const receipt = await deployed.deploymentTransaction()?.wait()
  if (!receipt)
    throw new TransactionNotMinedError({ transaction: 'settlement contract deployment' })
  const address = await deployed.getAddress()
  return {
    address,
    contract: getSettlementContract(address, signer),
    receipt,
    fraudVerifierAddress,
    penaltyLibraryAddress,
  }
}
