"""The consumer loop and its parts: offsets kept in PostgreSQL with the state they
produced, the outbox, dead letters, failure classes, finding a poison record in
a batch, health and lag."""
