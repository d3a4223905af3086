import { Counter, Histogram, Registry } from 'prom-client'

export type MeterMetrics = ReturnType<typeof createMeterMetrics>

/**
 * Prometheus metrics of one meter, in their own registry (served by `rmaRouter` at
 * `/rma/metrics`, or merge it into the app's). Revenue is exported as a float counter of base
 * units for dashboards only; money itself stays bigint everywhere else.
 *
 * @example
 * const metrics = createMeterMetrics()
 * await metrics.registry.metrics() // Prometheus text
 */
export function createMeterMetrics() {
  const registry = new Registry()
  const requests = new Counter({
    name: 'rma_requests_total',
    help: 'Metered requests by endpoint and outcome.',
    labelNames: ['endpoint', 'outcome'] as const,
    registers: [registry],
  })
  const tokens = new Counter({
    name: 'rma_tokens_total',
    help: 'Tokens in receipts, by kind (input, cached_input, output, reasoning).',
    labelNames: ['kind'] as const,
    registers: [registry],
  })
  const revenue = new Counter({
    name: 'rma_revenue_base_units_total',
    help: 'Sum of receipt amounts in payment-token base units.',
    registers: [registry],
  })
  const receipts = new Counter({
    name: 'rma_receipts_total',
    help: 'Receipts signed and stored, by usage source.',
    labelNames: ['source'] as const,
    registers: [registry],
  })
  const duration = new Histogram({
    name: 'rma_request_duration_seconds',
    help: 'Time from request to receipt stored, by endpoint.',
    labelNames: ['endpoint'] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [registry],
  })
  const receiptDuration = new Histogram({
    name: 'rma_receipt_seconds',
    help: 'Time to price, sign and durably store one receipt.',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [registry],
  })
  return { registry, requests, tokens, revenue, receipts, duration, receiptDuration }
}
