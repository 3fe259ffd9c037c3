// A topology of real processes on loopback, for tests, `npm run cluster` and
// a chaos runner: a NATS JetStream cluster, the apps, a load balancer over the
// gateways, each a ProcessHandle that can be killed, stopped, paused and
// started again.
export { startProcess, httpStatus, type ProcessHandle, type ProcessExit, type ProcessSpec } from './process-handle.js'
export { freePorts } from './free-ports.js'
export { startNatsCluster, type NatsCluster, type NatsNode, type NatsNodePorts, type NatsClusterOptions } from './nats-cluster.js'
export { entryArgs } from './entry-args.js'
export { startAppProcess, repoRoot, type AppProcess, type AppProcessOptions, type AppName } from './app-process.js'
export { startLoadBalancer, haproxyAvailable, haproxyConfig, type LoadBalancer, type LoadBalancerOptions, type LoadBalancerKind, type Backend } from './load-balancer.js'
export { startStack, migrateApp, type Stack, type StackOptions, type StackPorts } from './stack.js'
export { createTeardown, type TeardownStack } from './teardown-stack.js'
