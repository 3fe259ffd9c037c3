import t from 'tap'
import { readFile } from 'node:fs/promises'
import { AuthConfig } from '@metadome/auth-api/config'
import { GatewayConfig } from '@metadome/chat-gateway/config'
import { WriterConfig } from '@metadome/message-writer/config'

// .env.example is what operators copy: it must name every variable an app
// reads, and nothing an app would ignore.

t.test('.env.example lists exactly the variables the apps and npm start read', async (t) => {
  const text = await readFile(new URL('../../.env.example', import.meta.url), 'utf8')
  const listed = new Set([...text.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]))
  const read = new Set([AuthConfig, GatewayConfig, WriterConfig].flatMap((schema) => Object.keys(schema.properties)))
  const startOnly = ['METADOME_DATA_DIR', 'METADOME_BASE_PORT', 'METADOME_PG_PORT', 'METADOME_GATEWAYS', 'TEST_DATABASE_URL']
  t.same([...read].filter((name) => !listed.has(name)), [], 'every variable an app reads is listed')
  t.same([...listed].filter((name) => name !== undefined && !read.has(name) && !startOnly.includes(name)), [], 'nothing listed that no app reads')
})
