// WebSocket frames (client to gateway and gateway to client) and chat-gateway REST bodies.
export {}
