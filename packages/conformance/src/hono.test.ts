import { hono } from './adapters/hono.js'
import { runConformance } from './runConformance.js'

runConformance(hono)
