// What tests outside the apps use to run them: the whole stack (startStack),
// each app on its own (buildAuthApi, buildWriter, buildGateway), the JWKS
// stand-in for auth-api, a NATS connection that publishes as auth-api and the
// gateways do, and accounts on the real auth-api.
export { startStack, type Stack, type AuthStack, type JwksStack, type StackApp, type StackGateway, type StackOptions } from './stack.js'
export { buildAuthApi, buildWriter, buildGateway, listen, tempDir, type BuiltApp, type BuildOptions, type Env } from './apps.js'
export { startJwksServer, type JwksServer, type TokenOptions } from './jwks-server.js'
export { testNats, type TestNats } from './nats.js'
export { signUp, signIn, PASSWORD, type Account } from './accounts.js'
