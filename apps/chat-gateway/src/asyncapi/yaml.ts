import { Document } from 'yaml'
import type { AsyncApiDocument } from './document.js'

/**
 * The document as asyncapi.yaml holds it. Deterministic (key order is the
 * builder's, no line folding), so the committed file can be compared byte
 * for byte with a fresh build.
 */
export function asyncApiYaml (doc: AsyncApiDocument): string {
  const yaml = new Document(doc, { aliasDuplicateObjects: false })
  yaml.commentBefore = ' Generated from libs/contracts by apps/chat-gateway/src/asyncapi/document.ts: do not edit.\n Regenerate with `npm run asyncapi -w @metadome/chat-gateway`.'
  return yaml.toString({ lineWidth: 0 })
}
