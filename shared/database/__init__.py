"""PostgreSQL: engine and sessions, advisory locks, versioned configs."""
