"""Helpers shared by the integration tests, the demo and the benchmark: a workload
generator, a webhook receiver, service processes, waiting for a drained pipeline.

They live under ``tests/`` so that no product package depends on them; ``bench/``
imports them from here, never the other way round.
"""
