import { express4Adapter } from './adapters/express4.js'
import { runConformance } from './runConformance.js'

runConformance(express4Adapter)
