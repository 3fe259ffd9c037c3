// NATS request/reply between chat-gateway and message-writer: subjects, requests, replies.
export {}
