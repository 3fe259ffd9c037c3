import t from 'tap'
import { clientAddressKey } from '../../src/lib/client-address.js'

t.test('a sign-in count is kept per IPv4 address and per IPv6 /64', async (t) => {
  t.equal(clientAddressKey('198.51.100.66'), '198.51.100.66')
  t.equal(clientAddressKey('::ffff:198.51.100.66'), '198.51.100.66', 'IPv4-mapped, dotted')
  t.equal(clientAddressKey('::FFFF:c633:6442'), '198.51.100.66', 'IPv4-mapped, in hex')
  t.equal(clientAddressKey('2001:db8:66:1:abcd::7'), '2001:db8:66:1::/64')
  t.equal(clientAddressKey('2001:0DB8:0066:0001:0000:0000:0000:0001'), '2001:db8:66:1::/64', 'written out in full, upper case')
  t.equal(clientAddressKey('2001:db8::1'), '2001:db8:0:0::/64', 'zeros in the prefix')
  t.equal(clientAddressKey('::1'), '0:0:0:0::/64')
  t.equal(clientAddressKey('fe80::1%eth0'), 'fe80:0:0:0::/64', 'without its zone')
  t.equal(clientAddressKey('64:ff9b::198.51.100.66'), '64:ff9b:0:0::/64', 'a NAT64 address is IPv6')
  t.equal(clientAddressKey(undefined), 'unknown', 'no address (a Unix socket)')
})
