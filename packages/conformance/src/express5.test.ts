import { express5 } from './adapters/express5.js'
import { runConformance } from './runConformance.js'

runConformance(express5)
