export { loadConfig, loadConfigOrExit, ConfigError } from './load-config.js'
export * as env from './variables.js'
