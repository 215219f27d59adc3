"""The clock: a periodic pass over every account, in chunks, across processes."""
