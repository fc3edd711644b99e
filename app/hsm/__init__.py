"""Keys in a PKCS#11 token (a bank's HSM; SoftHSM2 in tests): Fabric signing keys and document
key-wrapping keys that never leave the token. See docs/hsm.md."""
