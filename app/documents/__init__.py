"""Document upload, download and verification over the encrypted IPFS vault."""
