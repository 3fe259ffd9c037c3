import t from 'tap'
import { build, signUp, PASSWORD } from './helper.js'

t.test('/metrics counts logins by outcome and times password hashing', async (t) => {
  const { app } = await build(t)
  await signUp(app, 'alice')
  await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'alice', password: 'wrong password' } })
  await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'alice', password: PASSWORD } })
  const text = (await app.inject('/metrics')).body
  t.match(text, /^auth_logins_total\{outcome="success",app="auth-api"\} 2$/m)
  t.match(text, /^auth_logins_total\{outcome="failure",app="auth-api"\} 1$/m)
  t.match(text, /^auth_logins_total\{outcome="locked",app="auth-api"\} 0$/m)
  t.match(text, /^auth_password_hash_seconds_count\{app="auth-api",op="hash"\} 1$/m)
  t.match(text, /^auth_password_hash_seconds_count\{app="auth-api",op="verify"\} 3$/m)
  t.match(text, /^auth_outbox_backlog\{app="auth-api"\} \d+$/m)
  t.match(text, /^# TYPE auth_outbox_publish_lag_seconds histogram$/m)
  t.match(text, /^auth_outbox_published_total\{result="stored",app="auth-api"\} \d+$/m)
})
