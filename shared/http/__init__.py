"""HTTP every service shares: the server and its hardening, auth, probes, the error
shape in OpenAPI, FastAPI dependencies."""
