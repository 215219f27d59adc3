"""Score trust: outcomes in, accuracy out (``accuracy/``, pure), the shadow model,
their API, CLI and SQL, together."""
