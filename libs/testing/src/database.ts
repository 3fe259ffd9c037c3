import { randomBytes } from 'node:crypto'
import pg from 'pg'
import type { Teardown } from './teardown.js'

export const adminDatabaseUrl = (): string =>
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/**
 * A fresh, empty database for one test file, dropped when the file's tests end.
 * TEST_DATABASE_URL is used only to create and drop it.
 */
export async function createTestDatabase (t: Teardown, prefix = 'mdtest'): Promise<string> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`
  const adminUrl = adminDatabaseUrl()
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  try {
    await admin.query(`create database "${name}"`)
  } finally {
    await admin.end()
  }
  t.teardown(async () => {
    const c = new pg.Client({ connectionString: adminUrl })
    await c.connect()
    try {
      await c.query(`drop database if exists "${name}" with (force)`)
    } finally {
      await c.end()
    }
  })
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return url.toString()
}
