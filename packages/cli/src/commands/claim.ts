import { verifyRebateProof } from '@rma/contracts'
import type { Address, Hex } from '@rma/core'
import { CliError } from '../CliError.js'
import type { Command, CommandContext } from '../Command.js'
import { assetOptions } from '../chainOptions.js'
import { type AssetChain, connectChain } from '../connectChain.js'
import { erc20 } from '../erc20.js'
import { fetchJson } from '../fetchJson.js'
import { loadKey } from '../loadKey.js'
import { providerUrlOf } from '../providerUrlOf.js'
import { sendTransaction } from '../sendTransaction.js'

const roles = {
  supporter: { prefix: 'RMA_SUPPORTER', key: "the supporter's key" },
  user: { prefix: 'RMA_USER', key: "the API user's key" },
  issuer: { prefix: 'RMA_ISSUER', key: 'any key with gas (the issuer is paid)' },
  protocol: { prefix: 'RMA_OWNER', key: 'any key with gas (the contract owner is paid)' },
} as const

type Role = keyof typeof roles

export const claimCommand: Command = {
  name: 'claim',
  summary:
    "claim what a role is owed: a supporter's rewards (default), a user's rebates, the issuer's or the protocol's share",
  usage: 'claim [--as supporter|user|issuer|protocol]',
  options: {
    ...assetOptions,
    as: {
      type: 'string',
      value: 'role',
      description: 'supporter (default), user, issuer or protocol',
    },
    provider: {
      type: 'string',
      env: 'RMA_PROVIDER_URL',
      value: 'url',
      description:
        "with --as user: the provider's URL serving /rma/proofs/:user (default: RMA_BASE_URL without /v1)",
    },
  },
  details: [
    'Keys: supporter RMA_SUPPORTER_*, user RMA_USER_*, issuer RMA_ISSUER_* (anyone may send it;',
    "the issuer is paid), protocol RMA_OWNER_* (likewise, the owner is paid). A user's proofs come from",
    "the provider and are checked against each epoch's rebate root on chain before anything is",
    'sent; one transaction claims every epoch. The amount printed is what arrived, measured as',
    "the payee's token balance before and after.",
  ].join('\n'),
  async run(context) {
    const role = (context.options.as ?? 'supporter') as Role
    if (!(role in roles))
      throw new CliError({
        code: 'USAGE',
        shortMessage: `--as must be supporter, user, issuer or protocol, not "${role}".`,
      })
    const { prefix, key } = roles[role]
    const wallet = await loadKey(context.env, prefix, { role: key, cwd: context.cwd })
    const chain = await connectChain(context, { asset: true })
    const signer = wallet.connect(chain.provider)
    const contract = chain.contract.connect(signer)
    const payee =
      role === 'issuer'
        ? chain.asset.issuer
        : role === 'protocol'
          ? await chain.contract.owner()
          : signer.address
    const names = { [signer.address]: `the ${role}` }
    const token = erc20(chain.asset.token, chain.provider)
    const before = await token.balanceOf(payee)
    let epochs: number[] | undefined
    const receipt =
      role === 'user'
        ? await claimUserRebates(context, chain, signer.address as Address, (claims) => {
            epochs = claims.map((c) => c.epoch)
            return sendTransaction(
              context,
              chain.provider,
              'claimRebates',
              () => contract.claimRebates(chain.assetId, signer.address, claims),
              { names },
            )
          })
        : await sendTransaction(
            context,
            chain.provider,
            role === 'supporter'
              ? 'claimRewards'
              : role === 'issuer'
                ? 'claimIssuer'
                : 'claimProtocol',
            () =>
              role === 'supporter'
                ? contract.claimRewards(chain.assetId)
                : role === 'issuer'
                  ? contract.claimIssuer(chain.assetId)
                  : contract.claimProtocol(chain.assetId),
            { names },
          )
    const amount = (await token.balanceOf(payee)) - before
    context.print(
      {
        ok: true,
        role,
        payee,
        amount: amount.toString(),
        ...(epochs ? { epochs } : {}),
        txHash: receipt.hash,
      },
      `claimed ${amount} for the ${role} ${payee}${epochs ? ` (epochs ${epochs.join(', ')})` : ''} (tx ${receipt.hash})`,
    )
    chain.provider.destroy()
    return 0
  },
}

type Claim = { epoch: number; amount: bigint; proof: Hex[] }

async function claimUserRebates<T>(
  context: CommandContext,
  chain: AssetChain,
  user: Address,
  send: (claims: Claim[]) => Promise<T>,
): Promise<T> {
  const provider = providerUrlOf(context.options, context.env)
  if (!provider)
    throw new CliError({
      code: 'CONFIG',
      shortMessage:
        "--provider or RMA_PROVIDER_URL is not set: it must be the provider's URL (its /rma/proofs/:user serves the proofs).",
    })
  const url = `${provider}/rma/proofs/${user}`
  const served = await fetchJson<{ claims?: { epoch: number; amount: string; proof: Hex[] }[] }>(
    url,
    context.timeoutMs,
    { notFound: `the provider has no unclaimed rebate for ${user}: nothing to claim.` },
  )
  const claims: Claim[] = (served.claims ?? []).map((c) => ({
    epoch: Number(c.epoch),
    amount: BigInt(c.amount),
    proof: c.proof,
  }))
  if (claims.length === 0)
    throw new CliError({
      code: 'REFUSED',
      shortMessage: `No unclaimed rebate for ${user}: nothing to claim.`,
    })
  // The provider is not trusted: each proof must lead to the root the chain stores.
  for (const claim of claims) {
    const { root } = await chain.contract.epochRebates(chain.assetId, claim.epoch)
    if (!verifyRebateProof({ storedRoot: root, user, amount: claim.amount, proof: claim.proof }))
      throw new CliError({
        code: 'FAILED',
        shortMessage: `The provider's proof for epoch ${claim.epoch} does not match that epoch's rebate root on chain: nothing was sent; report it (rma audit checks the batch files).`,
      })
  }
  return send(claims)
}
