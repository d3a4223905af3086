import { createMemoryStore } from './createMemoryStore.js'
import { describeReceiptStore } from './receiptStore.contract.js'

describeReceiptStore('createMemoryStore', () => createMemoryStore({ nonceSweepIntervalMs: 20 }))
