export interface LoginAttemptByAddressTable {
  /** lower(username) as asked for, existing or not. */
  username_key: string
  /** An IPv4 address, or an IPv6 /64 (lib/client-address.ts). */
  client_address: string
  failures: number
  locked_until: Date | null
  last_failure_at: Date | null
  /** The last right password from this address: the per-account count lets it through. */
  signed_in_at: Date | null
}
