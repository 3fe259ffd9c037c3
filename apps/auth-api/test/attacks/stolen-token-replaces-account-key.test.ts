import t from 'tap'
import { generateAccountKey } from '@metadome/e2ee'
import { keyTarget } from './key-directory.js'

// With the account key replaced by theirs, an attacker would sign a device
// list of their own devices, and everyone would encrypt to them (contacts
// see a key change, which many click through). The access token alone must
// not be enough: replacing the account key needs the password.

t.test('a stolen access token cannot replace the victim\'s account key', async (t) => {
  const { put, list, read, published } = await keyTarget(t)
  const attacker = await generateAccountKey()
  const theirs = await list(attacker, 2)

  const bare = await put(theirs)
  t.equal(bare.statusCode, 400)
  t.equal(bare.json().error.code, 'current_password_required')
  for (const guess of ['password', 'victim', '12345678']) {
    const res = await put({ ...theirs, currentPassword: guess })
    t.equal(res.statusCode, 403, `guess ${guess}`)
    t.equal(res.json().error.code, 'wrong_current_password')
  }
  t.same(await read(), published, 'everyone still reads the victim\'s own list')
})
