"""One router per resource; :func:`api_router` assembles /api/v1."""
