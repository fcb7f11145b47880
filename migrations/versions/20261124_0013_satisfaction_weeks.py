"""the weekly satisfaction summaries as they were made (R17, #18): made by a job once the week is
over, before Monday 18:00, and kept; the scored calls by start, for the monthly analysis

Revision ID: 20261124_0013
Revises: 20261124_0012
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '20261124_0013'
down_revision = '20261124_0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('satisfaction_weeks',
    sa.Column('week', sa.String(length=8), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('made_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('figures', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.PrimaryKeyConstraint('week', name=op.f('pk_satisfaction_weeks'))
    )
    op.create_index('ix_calls_scored_started_at', 'calls', ['started_at'], unique=False,
                    postgresql_where='satisfaction IS NOT NULL')


def downgrade() -> None:
    op.drop_index('ix_calls_scored_started_at', table_name='calls',
                  postgresql_where='satisfaction IS NOT NULL')
    op.drop_table('satisfaction_weeks')
