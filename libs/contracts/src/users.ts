// REST schemas of auth-api (users, sessions, keys requests and responses).
export {}
