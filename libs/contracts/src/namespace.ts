/**
 * Names of everything this deployment creates in NATS, derived from one
 * namespace (DESIGN.md "Namespacing"). Stream, consumer and bucket names may
 * not contain dots, so they join with "_"; subjects join with ".".
 */
export interface Namespace {
  readonly prefix: string
  stream: (name: string) => string
  consumer: (name: string) => string
  bucket: (name: string) => string
  subject: (...tokens: Array<string | number>) => string
}

export function namespace (prefix: string): Namespace {
  if (!/^[A-Za-z0-9_-]+$/.test(prefix)) {
    throw new Error(`invalid NATS namespace ${JSON.stringify(prefix)}`)
  }
  return {
    prefix,
    stream: (name) => `${prefix}_${name}`,
    consumer: (name) => `${prefix}_${name}`,
    bucket: (name) => `${prefix}_${name}`,
    subject: (...tokens) => [prefix, ...tokens].join('.')
  }
}
