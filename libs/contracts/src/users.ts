import Type, { type Static } from 'typebox'
import { Strict } from './schema.js'

// REST schemas of auth-api (DESIGN.md "REST contract — auth-api"): users,
// sessions and tokens. The server validates with them (unknown fields are
// refused), the OpenAPI document is generated from them and clients are
// typed by them. Small pieces first, then each request and response.

export const UserId = Type.String({ format: 'uuid', description: 'user id (UUID)' })

/** Kept as typed; unique without regard to case, and logins ignore case. */
export const Username = Type.String({
  pattern: '^[A-Za-z0-9_.-]{3,32}$',
  description: '3 to 32 characters of a-z, 0-9, "_", "." or "-"; unique without regard to case'
})

export const DisplayName = Type.String({ minLength: 1, maxLength: 64, description: 'up to 64 characters' })

// The pattern is ajv-formats' full `email` format, which Fastify's response
// serializer applies: TypeBox's own `email` format accepts more (`a@b`,
// quoted local parts), and such an address, once stored, made every answer
// that carried it a 500 (found by the REST fuzzer).
export const Email = Type.String({
  format: 'email',
  pattern: "^[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+(?:\\.[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?\\.)+[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$",
  maxLength: 254,
  description: 'unique when present'
})

/**
 * At least 8 characters. The server also refuses more than 72 bytes of UTF-8
 * (bcrypt would silently ignore the rest), the username itself and the
 * 10,000 most common passwords; maxLength here only bounds the request.
 */
export const NewPassword = Type.String({ minLength: 8, maxLength: 1024, description: 'at least 8 characters, at most 72 bytes of UTF-8, not common, not the username' })

/** A password being checked, not chosen: no rules beyond a bound. */
export const Password = Type.String({ minLength: 1, maxLength: 1024 })

/** 256 random bits, base64url without padding. */
export const RefreshToken = Type.String({ pattern: '^[A-Za-z0-9_-]{43}$', description: 'opaque refresh token' })

const Timestamp = Type.String({ format: 'date-time' })

/** A user as others see them; `email` only for the user themself and admins. Never a password hash. */
export const User = Strict({
  id: UserId,
  username: Username,
  displayName: DisplayName,
  email: Type.Optional(Type.Union([Email, Type.Null()])),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  // The account's standing: for the user themself and admins only, like email.
  emailVerified: Type.Optional(Type.Boolean({ description: 'the email address was proven by a mailed link' })),
  role: Type.Optional(Type.Union([Type.Literal('user'), Type.Literal('admin')])),
  disabled: Type.Optional(Type.Boolean({ description: 'an admin disabled the account: it cannot sign in' })),
  mfa: Type.Optional(Strict({ totp: Type.Boolean(), passkeys: Type.Integer({ minimum: 0 }) }, { description: 'second factors and passkeys in use' }))
}, { description: 'a user' })
export type User = Static<typeof User>

export const UserResponse = Strict({ user: User })
export type UserResponse = Static<typeof UserResponse>

export const UserIdParams = Strict({ id: UserId })
export type UserIdParams = Static<typeof UserIdParams>

// POST /v1/users
export const RegisterRequest = Strict({
  username: Username,
  password: NewPassword,
  displayName: Type.Optional(DisplayName),
  email: Type.Optional(Email)
}, { description: 'displayName defaults to the username' })
export type RegisterRequest = Static<typeof RegisterRequest>

// GET /v1/users
export const ListUsersQuery = Strict({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,200}$', description: 'nextCursor of the previous page' })),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'prefix of the username or display name, any case' }))
})
export type ListUsersQuery = Static<typeof ListUsersQuery>

export const UserList = Strict({
  items: Type.Array(User),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'null on the last page' })
}, { description: 'users ordered by username (case-insensitive), keyset-paginated' })
export type UserList = Static<typeof UserList>

// PATCH /v1/users/:id
export const UpdateUserRequest = Strict({
  displayName: Type.Optional(DisplayName),
  email: Type.Optional(Type.Union([Email, Type.Null()], { description: 'null removes it' })),
  username: Type.Optional(Username),
  password: Type.Optional(NewPassword),
  currentPassword: Type.Optional(Password),
  disabled: Type.Optional(Type.Boolean({ description: 'admins only: a disabled user cannot sign in, and their sessions end' })),
  role: Type.Optional(Type.Union([Type.Literal('user'), Type.Literal('admin')], { description: 'admins only' }))
}, { description: 'a username or password change of one\'s own account needs currentPassword; a password change ends every other session' })
export type UpdateUserRequest = Static<typeof UpdateUserRequest>

// DELETE /v1/users/:id
export const DeleteUserRequest = Strict({
  currentPassword: Type.Optional(Password)
}, { description: 'currentPassword is required to delete one\'s own account' })
export type DeleteUserRequest = Static<typeof DeleteUserRequest>

// POST /v1/auth/login
export const LoginRequest = Strict({
  username: Type.String({ minLength: 1, maxLength: 64 }),
  password: Password
})
export type LoginRequest = Static<typeof LoginRequest>

// POST /v1/auth/login, POST /v1/auth/refresh
export const TokenResponse = Strict({
  accessToken: Type.String({ description: 'JWT (EdDSA), verify with /.well-known/jwks.json' }),
  refreshToken: RefreshToken,
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ description: 'seconds until the access token expires' }),
  user: User
})
export type TokenResponse = Static<typeof TokenResponse>

// POST /v1/auth/refresh, POST /v1/auth/logout
export const RefreshRequest = Strict({ refreshToken: RefreshToken })
export type RefreshRequest = Static<typeof RefreshRequest>

// GET /v1/auth/sessions, DELETE /v1/auth/sessions/:id
export const Session = Strict({
  id: Type.String({ format: 'uuid' }),
  createdAt: Timestamp,
  lastUsedAt: Timestamp,
  expiresAt: Timestamp,
  userAgent: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'the client address it last signed in or refreshed from' })),
  current: Type.Boolean({ description: 'the session of the token that asked' })
})
export type Session = Static<typeof Session>

export const SessionList = Strict({ items: Type.Array(Session) }, { description: 'active sessions, newest first' })
export type SessionList = Static<typeof SessionList>

export const SessionIdParams = Strict({ id: Type.String({ format: 'uuid' }) })
export type SessionIdParams = Static<typeof SessionIdParams>

// GET /.well-known/jwks.json
export const Jwk = Strict({
  kty: Type.Literal('OKP'),
  crv: Type.Literal('Ed25519'),
  x: Type.String(),
  kid: Type.String(),
  alg: Type.Literal('EdDSA'),
  use: Type.Literal('sig')
})
export type Jwk = Static<typeof Jwk>

export const Jwks = Strict({ keys: Type.Array(Jwk) }, { description: 'the signing key, and during a rotation the next one' })
export type Jwks = Static<typeof Jwks>

/** Claims of an access token (header: alg EdDSA, typ JWT, kid). */
export interface AccessTokenClaims {
  sub: string
  /** Session id: auth-api ends a session's tokens at once when it is revoked. */
  sid: string
  iss: string
  aud: string
  iat: number
  exp: number
}
