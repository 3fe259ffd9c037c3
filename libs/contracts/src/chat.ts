// Chat contracts: WebSocket frames, stored messages, conversations, and the NATS request/reply calls between gateways and message-writer.
export {}
