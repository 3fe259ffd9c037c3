import t from 'tap'
import sodium from 'libsodium-wrappers'
import { numericFingerprint } from '@metadome/e2ee'

// Published test vectors for every primitive the envelope and safety numbers
// use, run through the same libsodium build the library uses.

await sodium.ready
const hex = (h: string): Uint8Array => sodium.from_hex(h.replace(/\s+/g, ''))
const toHex = (b: Uint8Array): string => sodium.to_hex(b)

t.test('XChaCha20-Poly1305-IETF: draft-irtf-cfrg-xchacha, A.3.1', async (t) => {
  const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f')
  const nonce = hex('404142434445464748494a4b4c4d4e4f5051525354555657')
  const ad = hex('50515253c0c1c2c3c4c5c6c7')
  const plaintext = sodium.from_string("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.")
  const ciphertext = 'bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb' +
    '731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452' +
    '2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9' +
    '21f9664c97637da9768812f615c68b13b52e'
  const tag = 'c0875924c1c7987947deafd8780acf49'
  const sealed = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, null, nonce, key)
  t.equal(toHex(sealed), ciphertext + tag)
  t.same(sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, sealed, ad, nonce, key), plaintext)
  const flipped = sealed.slice()
  flipped[0] = flipped[0]! ^ 1
  t.throws(() => sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, flipped, ad, nonce, key))
  t.throws(() => sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, sealed, hex('50515253c0c1c2c3c4c5c6c8'), nonce, key))
})

t.test('Ed25519: RFC 8032 section 7.1, tests 1 to 3', async (t) => {
  const vectors = [
    {
      name: 'TEST 1 (empty message)',
      secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
      public: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
      message: '',
      signature: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155' +
        '5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'
    },
    {
      name: 'TEST 2 (one byte)',
      secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
      public: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
      message: '72',
      signature: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da' +
        '085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'
    },
    {
      name: 'TEST 3 (two bytes)',
      secret: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
      public: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
      message: 'af82',
      signature: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac' +
        '18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a'
    }
  ]
  for (const v of vectors) {
    const pair = sodium.crypto_sign_seed_keypair(hex(v.secret))
    t.equal(toHex(pair.publicKey), v.public, `${v.name}: public key`)
    const message = hex(v.message)
    t.equal(toHex(sodium.crypto_sign_detached(message, pair.privateKey)), v.signature, `${v.name}: signature`)
    t.ok(sodium.crypto_sign_verify_detached(hex(v.signature), message, hex(v.public)), `${v.name}: verifies`)
    t.notOk(sodium.crypto_sign_verify_detached(hex(v.signature), sodium.from_string('x'), hex(v.public)), `${v.name}: not for another message`)
  }
})

t.test('X25519: RFC 7748 section 5.2', async (t) => {
  const vectors = [
    ['a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4',
      'e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c',
      'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552'],
    ['4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d',
      'e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493',
      '95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957']
  ] as const
  for (const [scalar, u, out] of vectors) {
    t.equal(toHex(sodium.crypto_scalarmult(hex(scalar), hex(u))), out)
  }
  // The iterated test: k = u = 9; then k, u = X25519(k, u), k.
  let k = hex('0900000000000000000000000000000000000000000000000000000000000000')
  let u = k
  const after: Record<number, string> = {
    1: '422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079',
    1000: '684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51'
  }
  for (let i = 1; i <= 1000; i++) {
    const next = sodium.crypto_scalarmult(k, u)
    u = k
    k = next
    if (after[i] !== undefined) t.equal(toHex(k), after[i], `after ${i} iteration(s)`)
  }
})

t.test('X25519: RFC 7748 section 6.1 (Diffie-Hellman), through the crypto_box key pair we use', async (t) => {
  const alicePrivate = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a')
  const bobPrivate = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb')
  const alicePublic = '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a'
  const bobPublic = 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f'
  const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'
  t.equal(toHex(sodium.crypto_scalarmult_base(alicePrivate)), alicePublic)
  t.equal(toHex(sodium.crypto_scalarmult_base(bobPrivate)), bobPublic)
  t.equal(toHex(sodium.crypto_scalarmult(alicePrivate, hex(bobPublic))), shared)
  t.equal(toHex(sodium.crypto_scalarmult(bobPrivate, hex(alicePublic))), shared)
  // crypto_box's key pair is the same scalar and point: a box from Alice's
  // secret to Bob's public key opens with Bob's secret and Alice's public key.
  const nonce = new Uint8Array(24)
  const boxed = sodium.crypto_box_easy(sodium.from_string('hi'), nonce, hex(bobPublic), alicePrivate)
  t.equal(sodium.to_string(sodium.crypto_box_open_easy(boxed, nonce, hex(alicePublic), bobPrivate)), 'hi')
})

t.test("safety numbers: libsignal's NumericFingerprintGenerator vector", async (t) => {
  // From libsignal (rust/protocol/src/fingerprint.rs, fingerprint_test_v1;
  // the same vector as libsignal-protocol-java's NumericFingerprintGeneratorTest):
  // identity keys with their 0x05 type byte, phone numbers as stable ids,
  // 5200 iterations.
  const aliceIdentity = hex('0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868')
  const bobIdentity = hex('05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b')
  const aliceId = sodium.from_string('+14152222222')
  const bobId = sodium.from_string('+14153333333')
  const expected = '300354477692869396892869876765458257569162576843440918079131'
  t.equal(await numericFingerprint({ identityKey: aliceIdentity, stableId: aliceId }, { identityKey: bobIdentity, stableId: bobId }), expected)
  t.equal(await numericFingerprint({ identityKey: bobIdentity, stableId: bobId }, { identityKey: aliceIdentity, stableId: aliceId }), expected)
  // A different key or id gives a different number.
  t.not(await numericFingerprint({ identityKey: aliceIdentity, stableId: sodium.from_string('+141512222222') }, { identityKey: bobIdentity, stableId: bobId }), expected)
})

t.test('SHA-512 is crypto_hash in this build (FIPS 180-2 "abc")', async (t) => {
  t.equal(toHex(sodium.crypto_hash(sodium.from_string('abc'))),
    'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f')
})
