import type { TObject, Static } from 'typebox'
import { Value } from 'typebox/value'

export class ConfigError extends Error {
  override name = 'ConfigError'
}

type Env = Record<string, string | undefined>

/**
 * Reads the variables named in `schema` from `env`, applies defaults, coerces
 * numbers and validates. Throws a ConfigError whose message is one line naming
 * the first variable that is wrong and what was expected.
 */
export function loadConfig<S extends TObject>(schema: S, env: Env): Static<S> {
  const raw: Record<string, string> = {}
  for (const key of Object.keys(schema.properties)) {
    const value = env[key]
    // An empty variable is how shells and compose files say "unset".
    if (value !== undefined && value !== '') raw[key] = value
  }
  // A copy: Default and Convert change what they are given, and `raw` must
  // stay as the variables were written for the message below.
  const value = Value.Convert(schema, Value.Default(schema, { ...raw }))
  const [first] = Value.Errors(schema, value)
  if (first === undefined) return value as Static<S>

  const missing = 'requiredProperties' in first.params ? first.params.requiredProperties[0] : undefined
  const key = first.instancePath.split('/')[1] ?? missing ?? ''
  const variable: { description?: string, sensitive?: boolean } = schema.properties[key] ?? {}
  const expected = variable.description ?? first.message
  if (raw[key] === undefined) {
    throw new ConfigError(`${key} is required: set it to ${expected}`)
  }
  const shown = variable.sensitive === true ? '' : ` (got ${JSON.stringify(raw[key])})`
  throw new ConfigError(`${key} is invalid${shown}: expected ${expected}`)
}

/**
 * For server entry points: the config, or one line on stderr and exit code 78
 * (EX_CONFIG) so that supervisors show the reason instead of a stack trace.
 */
export function loadConfigOrExit<S extends TObject>(schema: S, env: Env): Static<S> {
  try {
    return loadConfig(schema, env)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`configuration error: ${err.message}\n`)
    process.exit(78)
  }
}
