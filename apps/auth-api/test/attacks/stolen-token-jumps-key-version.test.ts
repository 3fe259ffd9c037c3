import t from 'tap'
import { generateAccountKey } from '@metadome/e2ee'
import { PASSWORD } from '../helper.js'
import { keyTarget } from './key-directory.js'

// A device list stored at the last version the directory holds (2^31 - 1,
// or 2^53 - 1 for clients) can never be followed: the next one is past
// what can be signed or stored. Whoever managed to store it would lock the
// owner out of their own key directory for good, so a list must be exactly
// the next version.

t.test('nobody can jump the victim\'s device list to the last version and lock them out', async (t) => {
  const { put, list, read, account } = await keyTarget(t)
  const attacker = await generateAccountKey()

  for (const version of [2 ** 31 - 1, Number.MAX_SAFE_INTEGER, 3]) {
    const stolenToken = await put(await list(attacker, version))
    t.equal(stolenToken.statusCode, 409, `a stolen token, the attacker's key, version ${version}`)
    t.equal(stolenToken.json().error.code, 'version_conflict')
    const withPassword = await put({ ...await list(attacker, version), currentPassword: PASSWORD })
    t.equal(withPassword.json().error.code, 'version_conflict', `even with the password, version ${version}`)
    const ownKey = await put(await list(account, version))
    t.equal(ownKey.json().error.code, 'version_conflict', `even signed by the victim's own key, version ${version}`)
  }
  t.equal((await read()).deviceList.version, 1, 'nothing was stored')

  const next = await put(await list(account, 2))
  t.equal(next.statusCode, 200, 'the victim publishes their next list as ever')
  t.equal((await read()).deviceList.version, 2)
})
