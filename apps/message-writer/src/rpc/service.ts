import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node'
import type { FastifyBaseLogger } from 'fastify'
import { Compile, type Validator } from 'typebox/compile'
import type { Namespace } from '@metadome/nats'
import { ChatRpcErrorCode, ChatRpcMethods, chatRpcMethodNames, chatSubjects, type ChatRpcMethod, type ChatRpcReply } from '@metadome/contracts'
import { errorCodeOf } from '@metadome/service'
import type { WriterMetrics } from '../writer/metrics.js'
import type { Handlers } from './handlers.js'

/** The queue group every replica joins, so each request is answered by one of them. */
export const RPC_QUEUE = 'writer'

export interface RpcServiceOptions {
  nc: NatsConnection
  ns: Namespace
  handlers: Handlers
  metrics: WriterMetrics
  log: FastifyBaseLogger
}

/**
 * Answers the chat RPC methods (libs/contracts chat-rpc.ts), one subscription
 * per method in the queue group `writer`. Each request is validated with the
 * method's compiled schema (defaults applied) and always gets an envelope:
 * bad input is `bad_request`, a database failure `unavailable`; nothing a
 * caller sends can crash the service.
 */
export class RpcService {
  private readonly subs: Subscription[] = []
  private readonly inFlight = new Set<Promise<void>>()
  private readonly validators: { [M in ChatRpcMethod]: Validator }

  constructor (private readonly opts: RpcServiceOptions) {
    this.validators = Object.fromEntries(chatRpcMethodNames.map((m) => [m, Compile(ChatRpcMethods[m].request)])) as { [M in ChatRpcMethod]: Validator }
  }

  start (): void {
    const subjects = chatSubjects(this.opts.ns)
    for (const method of chatRpcMethodNames) {
      this.subs.push(this.opts.nc.subscribe(subjects.rpc(method), {
        queue: RPC_QUEUE,
        callback: (err, msg) => {
          if (err !== null) {
            this.opts.log.error({ err, method }, 'rpc subscription failed')
            return
          }
          const p: Promise<void> = this.handle(method, msg).finally(() => { this.inFlight.delete(p) })
          this.inFlight.add(p)
        }
      }))
    }
  }

  /**
   * Leaves the queue group (requests go to the other replicas from now on),
   * answers what already arrived, and resolves when every answer is sent.
   */
  async close (): Promise<void> {
    await Promise.all(this.subs.map(async (s) => { await s.drain() }))
    await Promise.all(this.inFlight)
  }

  private async handle (method: ChatRpcMethod, msg: Msg): Promise<void> {
    const started = performance.now()
    const reply = await this.answer(method, msg)
    const code = reply.ok ? 'ok' : reply.error.code
    this.opts.metrics.rpcDuration.observe({ method, code }, (performance.now() - started) / 1000)
    try {
      msg.respond(JSON.stringify(reply))
    } catch (err) {
      this.opts.log.error({ err, method }, 'could not send an rpc reply')
    }
  }

  private async answer (method: ChatRpcMethod, msg: Msg): Promise<ChatRpcReply<unknown>> {
    let request: unknown
    try {
      request = JSON.parse(msg.string())
    } catch {
      return failure('bad_request', 'the request is not JSON')
    }
    const validator = this.validators[method]
    request = validator.Default(request)
    if (!validator.Check(request)) {
      const [first] = validator.Errors(request)
      return failure('bad_request', first === undefined ? 'invalid request' : `${first.instancePath || 'request'} ${first.message}`)
    }
    try {
      const handler = this.opts.handlers[method] as (request: unknown) => Promise<unknown>
      return { ok: true, result: await handler(request) }
    } catch (err) {
      // A refusal (RpcError) is answered with its code; anything else is a
      // fault, logged here and answered as unavailable without its detail.
      const code = errorCodeOf(err, ChatRpcErrorCode)
      if (code !== 'unavailable') {
        this.opts.log.debug({ method, code }, 'rpc rejected')
        return failure(code, err instanceof Error ? err.message : code)
      }
      this.opts.log.error({ err, method }, 'rpc failed')
      return failure('unavailable', 'message-writer could not answer now')
    }
  }
}

function failure (code: ChatRpcErrorCode, message: string): ChatRpcReply<never> {
  return { ok: false, error: { code, message } }
}
