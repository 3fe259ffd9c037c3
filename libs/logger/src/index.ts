import { pino, type Logger, type DestinationStream, type LoggerOptions } from 'pino'
import pretty from 'pino-pretty'

export type { Logger } from 'pino'

export interface LoggerConfig {
  name: string
  level?: string
  /** `auto` is pretty when stdout is a terminal, JSON otherwise. */
  format?: 'auto' | 'json' | 'pretty'
  /** Where lines go; tests pass a stream to capture them. */
  destination?: DestinationStream
}

// Defence in depth: routes never log bodies, but if a secret ever reaches a log
// call under one of these keys it is censored rather than written.
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  '*.password',
  '*.currentPassword',
  '*.newPassword',
  '*.refreshToken',
  '*.accessToken',
  '*.token',
  '*.passwordHash'
]

export function loggerOptions (config: LoggerConfig): LoggerOptions {
  return {
    name: config.name,
    level: config.level ?? 'info',
    redact: { paths: REDACT, censor: '[redacted]' }
  }
}

export function createLogger (config: LoggerConfig): Logger {
  const options = loggerOptions(config)
  if (config.destination !== undefined) return pino(options, config.destination)
  const format = config.format ?? 'auto'
  const usePretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true)
  if (!usePretty) return pino(options)
  // In-process pretty printing (no worker thread), so it works the same under tsx.
  return pino(options, pretty({ colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }))
}
