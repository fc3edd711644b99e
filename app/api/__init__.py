"""The HTTP API of the gateway (versioned under /api/v1): routers per resource, auth, errors."""
