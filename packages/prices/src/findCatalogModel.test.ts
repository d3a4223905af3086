import { describe, expect, it } from 'vitest'
import type { Catalog } from './Catalog.js'
import { findCatalogModel } from './findCatalogModel.js'
import { matchesCatalogName } from './matchesCatalogName.js'

const idOf = (name: string, providers: readonly string[], catalog?: Catalog) => {
  const found = findCatalogModel({ name, providers, ...(catalog ? { catalog } : {}) })
  return found && `${found.provider.id}:${found.model.id}`
}

describe('findCatalogModel (bundled snapshot)', () => {
  it('resolves exact aliases and snapshot names to their model', () => {
    expect(idOf('gpt-4o-2024-08-06', ['openai'])).toBe('openai:gpt-4o')
    expect(idOf('gpt-35-turbo', ['openai'])).toBe('openai:gpt-3.5-turbo')
    expect(idOf('claude-opus-4-20250514', ['anthropic'])).toBe('anthropic:claude-opus-4-0')
  })

  it('resolves names the catalog matches only by pattern, case-insensitively', () => {
    expect(idOf('claude-sonnet-4-5-20250929', ['anthropic'])).toBe('anthropic:claude-sonnet-4-5')
    expect(idOf('claude-3-haiku-20240307', ['anthropic'])).toBe('anthropic:claude-3-haiku')
    expect(idOf('GPT-4o', ['openai'])).toBe('openai:gpt-4o')
    expect(idOf('  gpt-4o ', ['openai'])).toBe('openai:gpt-4o')
  })

  it('searches a provider’s fallback providers after its own models', () => {
    // Azure lists no gpt-4o of its own: it serves OpenAI's at OpenAI's price.
    expect(idOf('gpt-4o', ['azure'])).toBe('azure:gpt-4o')
    expect(findCatalogModel({ name: 'gpt-4o', providers: ['azure'] })?.model).toBe(
      findCatalogModel({ name: 'gpt-4o', providers: ['openai'] })?.model,
    )
  })

  it('returns undefined for a name no selected provider prices', () => {
    expect(idOf('llama-3.3-70b-versatile', ['openai', 'anthropic'])).toBeUndefined()
    expect(idOf('llama-3.3-70b-versatile', ['groq'])).toBe('groq:llama-3.3-70b-versatile')
    expect(idOf('gpt-4o', ['no-such-provider'])).toBeUndefined()
  })
})

describe('findCatalogModel (rules)', () => {
  const model = (id: string, match: Catalog['providers'][number]['models'][number]['match']) => ({
    id,
    match,
    aliases: [],
    prices: [{ prices: { input_mtok: '1', output_mtok: '1' } }],
  })
  const catalog: Catalog = {
    source: { package: 'test', version: '0', generatedAt: '2026-01-01' },
    providers: [
      {
        id: 'a',
        name: 'A',
        models: [model('x-broad', { starts_with: 'x-' }), model('x-1', { equals: 'x-1' })],
      },
      {
        id: 'b',
        name: 'B',
        models: [model('x-1', { equals: 'x-1' }), model('dated', { equals: 'dated-2025-05-14' })],
      },
    ],
  }

  it('takes the first model of a provider that matches, as the source does', () => {
    expect(findCatalogModel({ name: 'x-1', providers: ['a'], catalog })?.model.id).toBe('x-broad')
  })

  it('takes the first provider in the order given', () => {
    expect(idOf('x-1', ['b', 'a'], catalog)).toBe('b:x-1')
    expect(idOf('x-1', ['a', 'b'], catalog)).toBe('a:x-broad')
  })

  it('retries a compact snapshot date in dashed form, only when it is a real date', () => {
    expect(idOf('dated-20250514', ['b'], catalog)).toBe('b:dated')
    expect(idOf('dated-20250231', ['b'], catalog)).toBeUndefined()
  })

  it('evaluates every kind of match rule', () => {
    expect(matchesCatalogName({ and: [{ starts_with: 'A' }, { regex: '\\d$' }] }, 'ab1')).toBe(true)
    expect(matchesCatalogName({ and: [{ starts_with: 'a' }, { regex: '\\d$' }] }, 'abc')).toBe(
      false,
    )
    expect(
      matchesCatalogName({ or: [{ ends_with: '-MINI' }, { contains: 'nano' }] }, 'x-mini'),
    ).toBe(true)
    expect(
      matchesCatalogName({ or: [{ ends_with: '-mini' }, { contains: 'nano' }] }, 'x-max'),
    ).toBe(false)
    expect(matchesCatalogName({ equals: 'Gpt-4o' }, 'gpt-4O')).toBe(true)
    expect(matchesCatalogName({ regex: '^o[134]' }, 'o3-mini')).toBe(true)
    expect(matchesCatalogName({ regex: '^o[134]' }, 'o2')).toBe(false)
  })
})

describe('findCatalogModel (index)', () => {
  it('answers exactly as testing every rule in order would, for every name of the snapshot', async () => {
    const { catalog } = await import('./catalog.generated.js')
    let checked = 0
    for (const provider of catalog.providers)
      for (const model of provider.models)
        for (const name of [model.id, ...model.aliases]) {
          const normal = name.toLowerCase().trim()
          const naive = provider.models.find((m) => matchesCatalogName(m.match, normal))
          const found = findCatalogModel({ name, providers: [provider.id] })
          // Without an own match, the source goes on to the fallback providers (or a dashed date).
          if (naive) expect(found?.model).toBe(naive)
          checked++
        }
    expect(checked).toBeGreaterThan(1500)
  })
})
