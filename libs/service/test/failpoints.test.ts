import t from 'tap'
import { spawnSync } from 'node:child_process'
import { parseFailpoints } from '../src/failpoints.js'

t.test('METADOME_FAILPOINTS is name=probability pairs', async (t) => {
  t.same([...parseFailpoints('writer.after-commit=0.02, writer.before-commit=1')], [['writer.after-commit', 0.02], ['writer.before-commit', 1]])
  t.same([...parseFailpoints(undefined)], [])
  t.same([...parseFailpoints('')], [])
  for (const bad of ['writer', 'writer=0', 'writer=2', 'writer=x', '=0.5', 'a=0.5=1']) {
    t.throws(() => parseFailpoints(bad), /METADOME_FAILPOINTS/, bad)
  }
})

t.test('an armed failpoint kills the process as a crash; an unarmed one does nothing', async (t) => {
  const script = "import { failpoint } from './libs/service/src/failpoints.ts'; failpoint('other'); console.log('before'); failpoint('here'); console.log('after')"
  const run = (spec: string): ReturnType<typeof spawnSync> => spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: new URL('../../..', import.meta.url).pathname, env: { ...process.env, METADOME_FAILPOINTS: spec }, encoding: 'utf8'
  })
  const armed = run('here=1')
  t.equal(armed.signal, 'SIGKILL')
  t.equal(String(armed.stdout), 'before\n', 'it dies at the failpoint, not before')
  const unarmed = run('elsewhere=1')
  t.equal(unarmed.status, 0)
  t.equal(String(unarmed.stdout), 'before\nafter\n')
})
