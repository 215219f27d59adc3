"""Account attributes: the extra scalar fields of each account's subscription events.

A scorecard's segments may read any of them (``region``, ``industry`` …) by
declaring it; they are kept whether declared or not, so a scorecard declared
later segments by them at once, without a replay. Each is stored with the
event time that set it (``{"region": ["apac", <microseconds since the epoch>]}``)
so that, per name, the latest subscription event carrying it wins whatever
order the events arrive in (``account_attributes_merge``; a tie goes to the
newer write, as the subscription columns' does).

Revision ID: 0019_attributes
Revises: 0018_scorecard
Create Date: 2026-12-08
"""

from __future__ import annotations

from alembic import op

revision = "0019_attributes"
down_revision = "0018_scorecard"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a constant default: PostgreSQL adds the column without rewriting the table
    op.execute("ALTER TABLE accounts ADD COLUMN attributes jsonb NOT NULL DEFAULT '{}'::jsonb")
    op.execute(MERGE)


def downgrade() -> None:
    op.execute("DROP FUNCTION account_attributes_merge(jsonb, jsonb)")
    op.execute("ALTER TABLE accounts DROP COLUMN attributes")


MERGE = """
CREATE FUNCTION account_attributes_merge(stored jsonb, incoming jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT COALESCE(jsonb_object_agg(name, value), '{}'::jsonb) FROM (
        SELECT DISTINCT ON (name) name, value
        FROM (SELECT name, value, 0 AS newer FROM jsonb_each(stored) AS s(name, value)
              UNION ALL
              SELECT name, value, 1 FROM jsonb_each(incoming) AS i(name, value)) AS both_sides
        ORDER BY name, (value ->> 1)::bigint DESC, newer DESC
    ) AS latest
$$
"""
