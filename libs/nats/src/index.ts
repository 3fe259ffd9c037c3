export { namespace, type Namespace } from './namespace.js'
export { connectNats, pingNats, natsServers, natsAuth, inboxPrefix, type NatsConfig, type NatsAuth } from './connect.js'
export { ensureStream, ensureConsumer } from './setup.js'
export { natsPlugin, type NatsPluginOptions } from './plugin.js'
