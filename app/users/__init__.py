"""Gateway users: roles, password hashing, signed bearer tokens, API keys and Fabric enrolment."""
