"""``python -m vigil``: the ``vigil`` command without the console script."""

from vigil.cli import main

main()
