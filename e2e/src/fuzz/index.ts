// Property-based fuzzing of the apps' REST routes and frames (fast-check):
// generators of JSON text (deep, huge, __proto__ keys, invalid UTF-8), of
// values near a TypeBox schema, of HTTP requests and raw bytes, and the
// checks every answer is held to.
export * from './json-text.js'
export * from './from-schema.js'
export * from './http-fuzz.js'
export * from './raw-http.js'
