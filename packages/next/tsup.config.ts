import { defineConfig, type Options } from 'tsup'
import base from '../../tsup.base.ts'

export default defineConfig(base as Options)
