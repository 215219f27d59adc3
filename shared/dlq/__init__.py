"""Dead letters: inspect and redrive ``ingest.dlq``, ``scoring.dlq`` and ``triggers.dlq``.

A redrive sends a dead letter's original bytes back to the topic they were consumed
from (a raw topic, ``signals`` or ``health.changes``), so the stage that failed them
takes them again through its own consumer, exactly as if just consumed: ingest
re-validates them with today's contract, scoring and triggers re-apply them. The
stages deduplicate on event ids (and triggers on revisions), so a record redriven
twice takes effect once. A record that fails again goes back to its dead-letter
topic once more, with ``attempt`` counted up (:mod:`shared.dlq.attempts`); a
record at the attempt limit is reported, never sent again, and a run only reads the
dead letters that were there when it started. Nothing is removed from a dead-letter
topic; each redrive is recorded in PostgreSQL (``dlq_redrives``).

Reading needs only the broker and recording only the database, so this lives in
``shared`` and any service can serve it: scoring does (``/v1/dlq``), and the
``vigil dlq`` command does the same from a shell.
"""
