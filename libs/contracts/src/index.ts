export { ErrorResponse } from './errors.js'
