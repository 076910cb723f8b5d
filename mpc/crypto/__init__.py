"""Pure threshold-cryptography primitives for Cockpit's MPC nodes and coordinator.

No Django, no I/O, no networking: every protocol is a set of pure per-round functions.
Modules: ``group`` (ristretto255 / Ed25519 via libsodium), ``shamir`` (Shamir + Feldman),
``dkg`` (dealerless keygen and proactive refresh), ``oprf`` (RFC 9497 building blocks),
``tprf`` (threshold PRF and AES key derivation), ``frost`` (RFC 9591 FROST(Ed25519,
SHA-512)), ``threshold_rsa`` (threshold RSA decryption) and ``errors``. See README.md.
"""
