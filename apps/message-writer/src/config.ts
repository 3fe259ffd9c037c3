import Type, { type Static } from 'typebox'
import { env } from '@metadome/config'

const positive = (defaultValue: number, description: string, maximum?: number) =>
  Type.Integer({ minimum: 1, ...(maximum === undefined ? {} : { maximum }), default: defaultValue, description })

export const WriterConfig = Type.Object({
  ...env.common,
  ...env.chatStream,
  PORT: env.port(3002),
  DATABASE_URL: env.DatabaseUrl,
  DATABASE_POOL_SIZE: positive(10, 'the most PostgreSQL connections this process opens'),
  WRITER_BATCH_SIZE: positive(500, 'the most CHAT messages written in one transaction (1 to 5000)', 5_000),
  WRITER_BATCH_WAIT_MS: positive(20, 'milliseconds the writer waits to fill a batch before writing what it has'),
  WRITER_BATCHES_IN_FLIGHT: positive(2, 'batches one process writes at the same time (1 to 8)', 8),
  WRITER_ACK_WAIT_MS: Type.Integer({ minimum: 1_000, maximum: 600_000, default: 30_000, description: 'milliseconds from 1000 to 600000 before a message a writer took and never settled (it crashed) goes to another' }),
  GROUP_MAX_MEMBERS: positive(1024, 'the most members a group may have'),
  GROUP_CREATIONS_PER_HOUR: positive(100, 'the most groups one user may create in an hour'),
  GROUP_ADDITIONS_PER_HOUR: positive(1000, 'the most members one user may add to groups in an hour')
})
export type WriterConfig = Static<typeof WriterConfig>
