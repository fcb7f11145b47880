"""report definitions that can fall (#18, R1, R18, R19): each queue's own service-level threshold;
the rollups' sums for three-ring compliance over all decided offers, per call (first offer; as
the caller feels it), AHT with wrap-up and patience; agents' logged-in seconds per half-hour; a partial index finding a call's wrap-up.
The rollups are rebuilt at the next refresh (half-hourly from now on, for staffing intervals).

Revision ID: 20261124_0012
Revises: 20261123_0011
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '20261124_0012'
down_revision = '20261123_0011'
branch_labels = None
depends_on = None

HOUR_COUNTS = ('offers_decided', 'first_offers', 'first_offers_in_limit', 'answered_in_ring_limit')
HOUR_SUMS = ('wrap_sum', 'abandon_wait_sum')


def upgrade() -> None:
    op.add_column('queues', sa.Column('service_level_seconds', sa.Float(), nullable=True))
    for name in HOUR_COUNTS:
        op.add_column('report_hours', sa.Column(name, sa.BigInteger(), server_default='0',
                                                nullable=False))
    for name in HOUR_SUMS:
        op.add_column('report_hours', sa.Column(name, sa.Float(), server_default='0',
                                                nullable=False))
    for table in ('report_agent_hours', 'report_agent_days'):
        op.add_column(table, sa.Column('decided', sa.BigInteger(), server_default='0',
                                       nullable=False))
    op.add_column('report_rollup_state',
                  sa.Column('queue_thresholds', postgresql.JSONB(astext_type=sa.Text()),
                            nullable=True))
    op.create_table('report_presence',
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seconds_logged_in', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('hour', name=op.f('pk_report_presence'))
    )
    op.create_index('ix_agent_state_changes_wrap_up_call_id', 'agent_state_changes', ['call_id'],
                    unique=False, postgresql_where="to_state = 'wrap_up'")
    # the rows rolled up so far lack the new sums: rebuild everything at the next refresh
    op.execute("UPDATE report_rollup_state SET rolled_until = NULL")


def downgrade() -> None:
    op.drop_index('ix_agent_state_changes_wrap_up_call_id', table_name='agent_state_changes',
                  postgresql_where="to_state = 'wrap_up'")
    op.drop_table('report_presence')
    op.drop_column('report_rollup_state', 'queue_thresholds')
    for table in ('report_agent_hours', 'report_agent_days'):
        op.drop_column(table, 'decided')
    for name in (*HOUR_COUNTS, *HOUR_SUMS):
        op.drop_column('report_hours', name)
    op.drop_column('queues', 'service_level_seconds')
    op.execute("UPDATE report_rollup_state SET rolled_until = NULL")
