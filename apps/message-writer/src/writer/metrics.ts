import { Counter, Histogram, type Registry } from 'prom-client'

/** The writer's own series, next to the default ones of @metadome/service. */
export function writerMetrics (registry: Registry) {
  const registers = [registry]
  return {
    rowsWritten: new Counter({
      name: 'writer_rows_written_total',
      help: 'Rows inserted into PostgreSQL, by table (redeliveries that changed nothing are not counted)',
      labelNames: ['table'],
      registers
    }),
    messages: new Counter({
      name: 'writer_stream_messages_total',
      help: 'Stream messages settled by the writer, by stream and outcome (stored, duplicate, dead_letter, retry)',
      labelNames: ['stream', 'outcome'],
      registers
    }),
    batchSize: new Histogram({
      name: 'writer_batch_size',
      help: 'Stream messages per write transaction',
      labelNames: ['stream'],
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
      registers
    }),
    batchDuration: new Histogram({
      name: 'writer_batch_duration_seconds',
      help: 'Time to write one batch, from decoding to commit',
      labelNames: ['stream'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers
    }),
    ackToRowLag: new Histogram({
      name: 'writer_ack_to_row_lag_seconds',
      help: 'From a message\'s sentAt (when its gateway published it) to the commit that stored it',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers
    }),
    deadLetters: new Counter({
      name: 'writer_dead_letters_total',
      help: 'Stream messages that can never be stored, terminated and published to the dead-letter subject, by stream and category',
      labelNames: ['stream', 'category'],
      registers
    }),
    writeErrors: new Counter({
      name: 'writer_write_errors_total',
      help: 'Batches that failed against the database and were retried (nak with backoff)',
      labelNames: ['stream'],
      registers
    }),
    rpcDuration: new Histogram({
      name: 'writer_rpc_duration_seconds',
      help: 'Request/reply handling time by method and result code (ok or an error code)',
      labelNames: ['method', 'code'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers
    })
  }
}

export type WriterMetrics = ReturnType<typeof writerMetrics>
