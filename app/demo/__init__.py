"""Demo data and a scripted lifecycle, driven through the gateway's own HTTP API."""
