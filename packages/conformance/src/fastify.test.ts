import { fastify } from './adapters/fastify.js'
import { runConformance } from './runConformance.js'

runConformance(fastify)
