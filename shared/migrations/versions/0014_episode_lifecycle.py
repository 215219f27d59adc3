"""Playbook episodes as a resource: their lifecycle, its audit trail, held-back episodes.

``closed_at`` (since 0004) stays what the state machine means by it: the condition
cleared (the API calls it ``resolved_at``). A person's or a tool's close is
``lifecycle_closed_at``; ``status`` holds the lifecycle (open, acknowledged,
snoozed, closed) or ``held_back`` for an episode the horizon kept from being
emitted (its row is stored resolved, so it is never the machine's open episode).
Episodes stored before this take their account's segment and latest health.

Indexes serve the list's two orders with keyset pagination: the queue of open
episodes by due time, everything else by opening time (also per status and per
playbook, so a filter that matches few rows does not walk all of them); and a
lookup by id. On 1M episodes: a page of the queue, of the newest, of an account,
or one episode, 0.05-0.2 ms; the worst case, a status and playbook pair that
matches nothing, walks that status's rows (0.4 s for 100k; 2.4 s without the
per-status index).

Revision ID: 0014_episode_lifecycle
Revises: 0013_point_in_time
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0014_episode_lifecycle"
down_revision = "0013_point_in_time"
branch_labels = None
depends_on = None

UP = """
ALTER TABLE playbook_episodes
    ADD COLUMN status text NOT NULL DEFAULT 'open',
    ADD COLUMN segment text,
    ADD COLUMN health jsonb,
    ADD COLUMN owner text,
    ADD COLUMN snoozed_until timestamptz,
    ADD COLUMN resolution text,
    ADD COLUMN note text,
    ADD COLUMN acknowledged_at timestamptz,
    ADD COLUMN lifecycle_closed_at timestamptz,
    ADD COLUMN held_back_reason text;
UPDATE playbook_episodes e SET segment = a.segment,
    health = jsonb_build_object('score', a.score, 'band', a.band, 'components', a.components)
    FROM trigger_accounts a WHERE a.account_id = e.account_id;
CREATE INDEX playbook_episodes_id ON playbook_episodes (episode_id);
CREATE INDEX playbook_episodes_queue
    ON playbook_episodes ((COALESCE(due_by, 'infinity'::timestamptz)), episode_id)
    WHERE closed_at IS NULL AND status IN ('open', 'acknowledged');
CREATE INDEX playbook_episodes_recent ON playbook_episodes (opened_at, episode_id);
CREATE INDEX playbook_episodes_status_recent
    ON playbook_episodes (status, opened_at, episode_id);
CREATE INDEX playbook_episodes_playbook_recent
    ON playbook_episodes (playbook, opened_at, episode_id);
CREATE INDEX playbook_episodes_snoozed ON playbook_episodes (snoozed_until)
    WHERE status = 'snoozed';
CREATE TABLE playbook_episode_history (
    account_id  text NOT NULL,
    episode_id  text NOT NULL,
    seq         bigint GENERATED ALWAYS AS IDENTITY,
    at          timestamptz NOT NULL,
    action      text NOT NULL,
    by          text NOT NULL,
    detail      jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (account_id, episode_id, seq)
)
"""


def upgrade() -> None:
    for statement in UP.split(";"):
        if statement.strip():
            op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS playbook_episode_history")
    for index in ("id", "queue", "recent", "status_recent", "playbook_recent", "snoozed"):
        op.execute(f"DROP INDEX IF EXISTS playbook_episodes_{index}")
    for column in (
        "status",
        "segment",
        "health",
        "owner",
        "snoozed_until",
        "resolution",
        "note",
        "acknowledged_at",
        "lifecycle_closed_at",
        "held_back_reason",
    ):
        op.execute(f"ALTER TABLE playbook_episodes DROP COLUMN IF EXISTS {column}")
