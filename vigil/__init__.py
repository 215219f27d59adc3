"""The composition root: the ``vigil`` command, above ``services`` and ``shared``.

It is the one package that may import every service; ``shared`` and the services never
import it (import-linter contracts in pyproject.toml).
"""
