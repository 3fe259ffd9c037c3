import { writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { buildAsyncApi } from './document.js'
import { asyncApiYaml } from './yaml.js'

// `npm run asyncapi -w @metadome/chat-gateway`: writes apps/chat-gateway/asyncapi.yaml
// (test/asyncapi/document.test.ts fails while the committed file differs).

const ASYNCAPI_FILE = fileURLToPath(new URL('../../asyncapi.yaml', import.meta.url))

await writeFile(ASYNCAPI_FILE, asyncApiYaml(buildAsyncApi()))
process.stdout.write(`wrote ${ASYNCAPI_FILE}\n`)
