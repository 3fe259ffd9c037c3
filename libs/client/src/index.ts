// @metadome/client: the SDK of DESIGN.md "Client SDK". Runs unchanged in Node
// and browsers; the Node-only file key store is in '@metadome/client/node'.
export {
  ChatClient, gatewaySocketUrl,
  type ChatClientEvents, type ConnectOptions, type LoginOptions, type RegisterOptions, type SendTarget,
  type TextEvent, type RejectedEvent, type HistoryItem
} from './chat-client.js'
export { ChatClientError, isChatClientError, type ChatClientErrorCode } from './errors.js'
export { MemoryKeyStore, storeNames, type KeyStore } from './key-store.js'
export type { KeyChange } from './directory.js'
export type { SocketLike, WebSocketConstructor } from './websocket.js'
export { Accounts, type SignInStep } from './accounts.js'
