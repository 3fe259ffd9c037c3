import Type, { type Static } from 'typebox'
import { env } from '@metadome/config'

const positive = (defaultValue: number, description: string, maximum?: number) =>
  Type.Integer({ minimum: 1, ...(maximum === undefined ? {} : { maximum }), default: defaultValue, description })

export const WriterConfig = Type.Object({
  ...env.common,
  PORT: env.port(3002),
  DATABASE_URL: env.DatabaseUrl,
  DATABASE_POOL_SIZE: positive(10, 'the most PostgreSQL connections this process opens'),
  WRITER_BATCH_SIZE: positive(500, 'the most CHAT messages written in one transaction (1 to 5000)', 5_000),
  WRITER_BATCH_WAIT_MS: positive(20, 'milliseconds the writer waits to fill a batch before writing what it has'),
  WRITER_BATCHES_IN_FLIGHT: positive(2, 'batches one process writes at the same time (1 to 8)', 8),
  GROUP_MAX_MEMBERS: positive(1024, 'the most members a group may have')
})
export type WriterConfig = Static<typeof WriterConfig>
