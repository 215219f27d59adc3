"""Every SQL statement of the scoring service, and nothing else.

``writes`` folds batches into state, ``reads`` loads state for scoring,
``scores`` stores scores and answers the API. Functions take the caller's
session and never commit.
"""
