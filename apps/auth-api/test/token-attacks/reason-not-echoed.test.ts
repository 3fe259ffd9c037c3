import t from 'tap'
import { target, signEdDSA, signHS256, unsigned, freshKey, now } from './forge.js'

// A 401 for a bad token says nothing of why the JWT library refused it: its
// reasons ("The token signature is invalid.", "The token algorithm is
// invalid.", "The token has expired at …") tell a forger which of their
// attempts came closest. The reason goes to the debug log only.

const FIXED = 'the access token is missing, invalid or expired'

t.test('every refused token gets the same 401 message, none of the JWT library\'s reason', async (t) => {
  const { app, logs, victim, header, payload, serverKey } = await target(t)
  const [h, , s] = victim.accessToken.split('.')
  const flipAt = victim.accessToken.length - 10
  const attacks: Record<string, string | undefined> = {
    'a tampered payload': `${h ?? ''}.${Buffer.from(JSON.stringify({ ...payload, role: 'admin' })).toString('base64url')}.${s ?? ''}`,
    'a changed signature': victim.accessToken.slice(0, flipAt) + (victim.accessToken[flipAt] === 'A' ? 'B' : 'A') + victim.accessToken.slice(flipAt + 1),
    'an expired token': signEdDSA(header, { ...payload, iat: now() - 60, exp: now() - 1 }, serverKey),
    'alg none': unsigned({ ...header, alg: 'none' }, payload),
    'HS256 keyed with the public key': signHS256({ ...header, alg: 'HS256' }, payload, app.tokens.keys.current.publicPem),
    'an unknown kid': signEdDSA({ ...header, kid: 'not-ours' }, payload, freshKey()),
    'a wrong audience': signEdDSA(header, { ...payload, aud: 'someone-else' }, serverKey),
    garbage: 'not.a.jwt',
    'no token at all': undefined
  }

  for (const [name, token] of Object.entries(attacks)) {
    const before = logs.lines.length
    const res = await app.inject({ url: '/v1/users/me', headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })
    t.equal(res.statusCode, 401, name)
    const { error } = res.json<{ error: { code: string, message: string } }>()
    t.same(error, { code: 'unauthorized', message: FIXED }, `${name}: the fixed message`)

    const refused = logs.entries().slice(before).find((e) => e.msg === 'access token refused')
    const reason = typeof refused?.reason === 'string' ? refused.reason : ''
    t.not(reason, '', `${name}: the library's reason is in the debug log`)
    t.notOk(res.body.includes(reason), `${name}: and not in the answer (${reason})`)
    t.notMatch(res.body, /signature|algorithm|has expired|header|base64|claim|audience|kid|Authorization/i, `${name}: no hint of what was checked`)
  }
})
