import { Compile } from 'typebox/compile'
import { ClientFrames, MAX_BODY_BYTES, MAX_BODY_DEPTH, nestedDeeperThan, type ClientFrame, type ClientFrameType, type ErrorCode, type Ref } from '@metadome/contracts'

// Compiled once per process, one validator per frame type, so an error names
// what is wrong with that frame rather than "matches no frame of the union".
const validators = Object.fromEntries(
  Object.entries(ClientFrames).map(([type, schema]) => [type, Compile(schema)])
) as { [K in ClientFrameType]: ReturnType<typeof Compile> }

export type ReadResult =
  | { ok: true, frame: ClientFrame }
  | { ok: false, code: ErrorCode, message: string, ref?: Ref }

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function refOf (value: Record<string, unknown>): Ref | undefined {
  const ref = value.ref ?? (value.type === 'send' ? value.id : undefined)
  if (typeof ref === 'string' && ref.length <= 128) return ref
  if (typeof ref === 'number' && Number.isSafeInteger(ref)) return ref
  return undefined
}

/**
 * Parses and validates one text frame. Failures carry the contract's code
 * (`bad_request`, or `too_large` for a body over 64 KiB) and, when the frame
 * had one, its `ref` (for `send`, the message id) so the client can match it.
 */
export function readFrame (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): ReadResult {
  if (isBinary) return { ok: false, code: 'bad_request', message: 'frames are JSON text' }
  const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)
  const text = bytes.toString('utf8')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { ok: false, code: 'bad_request', message: 'the frame is not valid JSON' }
  }
  if (!isRecord(value)) return { ok: false, code: 'bad_request', message: 'a frame is a JSON object' }
  const ref = refOf(value)
  const fail = (code: ErrorCode, message: string): ReadResult => ref === undefined ? { ok: false, code, message } : { ok: false, code, message, ref }
  if (typeof value.type !== 'string') return fail('bad_request', 'the frame has no type')
  if (!Object.hasOwn(validators, value.type)) return fail('bad_request', `unknown frame type ${JSON.stringify(value.type.slice(0, 32))}`)
  const type = value.type as ClientFrameType
  if (type === 'send' && nestedDeeperThan(value.body, MAX_BODY_DEPTH)) return fail('bad_request', `body nests deeper than ${MAX_BODY_DEPTH} levels`)
  // A frame no larger than the limit cannot hold a body over it: only then is the body measured.
  if (type === 'send' && bytes.length > MAX_BODY_BYTES && isRecord(value.body) && Buffer.byteLength(JSON.stringify(value.body)) > MAX_BODY_BYTES) {
    return fail('too_large', `body is over ${MAX_BODY_BYTES} bytes`)
  }
  const validator = validators[type]
  if (!validator.Check(value)) {
    const [first] = validator.Errors(value)
    const where = first === undefined || first.instancePath === '' ? '' : `${first.instancePath.slice(1).replaceAll('/', '.')}: `
    return fail('bad_request', `invalid ${type} frame: ${where}${first?.message ?? 'does not match the contract'}`)
  }
  return { ok: true, frame: value as ClientFrame }
}
