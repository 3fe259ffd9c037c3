export * from './errors.js'
export { errorHandler, isDatabaseOutage } from './error-handler.js'
export { metrics, type MetricsOptions } from './metrics.js'
export { health, type HealthOptions, type Check } from './health.js'
export { startServer, type ListenConfig } from './start-server.js'
export { createService, type Service, type ServiceOptions } from './create-service.js'
export { openapi, bearerSecurity, type OpenApiOptions } from './openapi.js'
export { Semaphore } from './semaphore.js'
export { failpoint, parseFailpoints } from './failpoints.js'
// Every app is built with helmet (createService): its route option
// (`helmet: false`) and `reply.helmet()` are typed where apps declare routes.
export type { FastifyHelmetOptions } from '@fastify/helmet'
