import { next } from './adapters/next.js'
import { runConformance } from './runConformance.js'

runConformance(next)
