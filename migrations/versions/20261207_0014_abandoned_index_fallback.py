"""abandoned calls (R19): the abandoned-calls report's partial index also covers callers who hung
up while the dialplan's fallback rang agents with no service running (#15, R21)

Revision ID: 20261207_0014
Revises: 20261124_0013
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = '20261207_0014'
down_revision = '20261124_0013'
branch_labels = None
depends_on = None

NEW = "end_reason IN ('abandoned_in_queue', 'fallback_abandoned')"
OLD = "end_reason = 'abandoned_in_queue'"


def upgrade() -> None:
    op.drop_index('ix_calls_abandoned_started_at', table_name='calls', postgresql_where=OLD)
    op.create_index('ix_calls_abandoned_started_at', 'calls', ['started_at'], unique=False,
                    postgresql_where=NEW)


def downgrade() -> None:
    op.drop_index('ix_calls_abandoned_started_at', table_name='calls', postgresql_where=NEW)
    op.create_index('ix_calls_abandoned_started_at', 'calls', ['started_at'], unique=False,
                    postgresql_where=OLD)
