import WebSocket from 'ws'
import { until } from '@metadome/testing'
import type { ServerFrame } from '@metadome/contracts'

type FrameOf<T extends ServerFrame['type']> = Extract<ServerFrame, { type: T }>

/**
 * A real WebSocket client for tests: collects frames, and waits for the next
 * one of a type or for the close (code and reason).
 */
export class TestSocket {
  readonly frames: ServerFrame[] = []
  closeCode: number | undefined
  closeReason = ''
  readonly ws: WebSocket

  private constructor (ws: WebSocket) {
    this.ws = ws
    ws.on('message', (data) => { this.frames.push(JSON.parse(data.toString()) as ServerFrame) })
    ws.on('close', (code, reason) => {
      this.closeCode = code
      this.closeReason = reason.toString()
    })
    ws.on('error', () => {})
  }

  static async open (url: string, token?: string): Promise<TestSocket> {
    const ws = new WebSocket(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } })
    const socket = new TestSocket(ws)
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
    })
    return socket
  }

  /** Opens with a Bearer header and waits for `ready`. */
  static async ready (url: string, token: string): Promise<TestSocket> {
    const socket = await TestSocket.open(url, token)
    await socket.next('ready')
    return socket
  }

  send (frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame))
  }

  /** Removes and returns the first received frame of `type` (matching `where`), waiting for it. */
  async next<T extends ServerFrame['type']> (type: T, where: (f: FrameOf<T>) => boolean = () => true, timeoutMs = 10_000): Promise<FrameOf<T>> {
    return await until(() => {
      const i = this.frames.findIndex((f) => f.type === type && where(f as FrameOf<T>))
      if (i === -1) {
        if (this.closeCode !== undefined) throw new Error(`socket closed (${this.closeCode} ${this.closeReason}) while waiting for ${type}`)
        return undefined
      }
      return this.frames.splice(i, 1)[0] as FrameOf<T>
    }, timeoutMs, `a ${type} frame`)
  }

  /** Waits until `n` frames of `type` arrived, then removes and returns them in arrival order. */
  async take<T extends ServerFrame['type']> (type: T, n: number, timeoutMs = 10_000): Promise<Array<FrameOf<T>>> {
    await until(() => this.frames.filter((f) => f.type === type).length >= n, timeoutMs, `${n} ${type} frames`)
    const taken: Array<FrameOf<T>> = []
    for (let i = 0; i < this.frames.length && taken.length < n;) {
      const f = this.frames[i] as ServerFrame
      if (f.type === type) {
        taken.push(f as FrameOf<T>)
        this.frames.splice(i, 1)
      } else {
        i++
      }
    }
    return taken
  }

  /** Resolves with the close code once the socket closed. */
  async closed (timeoutMs = 10_000): Promise<number> {
    return await until(() => this.closeCode, timeoutMs, 'the socket to close')
  }

  close (): void {
    this.ws.close()
  }
}
