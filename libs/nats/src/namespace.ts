// Naming is part of the contract (DESIGN.md "Namespacing"), so it lives in
// @metadome/contracts, which browsers import without NATS; re-exported here
// for the server side's convenience.
export { namespace, type Namespace } from '@metadome/contracts'
