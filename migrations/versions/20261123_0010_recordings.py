"""recordings (R16): bridge recordings of agent conversations with their metadata and retention,
the parts agents paused; queues say whether they record and for how many days they keep it

Revision ID: 20261123_0010
Revises: 20261123_0009
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '20261123_0010'
down_revision = '20261123_0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('recordings',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('call_id', sa.Uuid(), nullable=False),
    sa.Column('agent_id', sa.Uuid(), nullable=True),
    sa.Column('queue', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_seconds', sa.Float(), nullable=True),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('path', sa.String(length=500), nullable=True),
    sa.Column('retain_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_recordings_agent_id_agents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_recordings_call_id_calls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recordings')),
    sa.UniqueConstraint('name', name=op.f('uq_recordings_name'))
    )
    op.create_index('ix_recordings_agent_id_started_at', 'recordings', ['agent_id', 'started_at'], unique=False)
    op.create_index('ix_recordings_call_id', 'recordings', ['call_id'], unique=False)
    op.create_index('ix_recordings_retain_until', 'recordings', ['retain_until'], unique=False, postgresql_where="status = 'stored'")
    op.create_index('ix_recordings_started_at', 'recordings', ['started_at'], unique=False)
    op.create_index('ix_recordings_unfinished', 'recordings', ['started_at'], unique=False, postgresql_where="status = 'recording'")
    op.create_table('recording_pauses',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('recording_id', sa.Uuid(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('by_user_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['by_user_id'], ['users.id'], name=op.f('fk_recording_pauses_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recording_id'], ['recordings.id'], name=op.f('fk_recording_pauses_recording_id_recordings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recording_pauses'))
    )
    op.create_index('ix_recording_pauses_recording_id', 'recording_pauses', ['recording_id', 'started_at'], unique=False)
    op.add_column('queues', sa.Column('record_calls', sa.Boolean(), server_default='false', nullable=False))
    op.add_column('queues', sa.Column('recording_retention_days', sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column('queues', 'recording_retention_days')
    op.drop_column('queues', 'record_calls')
    op.drop_index('ix_recording_pauses_recording_id', table_name='recording_pauses')
    op.drop_table('recording_pauses')
    op.drop_index('ix_recordings_unfinished', table_name='recordings', postgresql_where="status = 'recording'")
    op.drop_index('ix_recordings_started_at', table_name='recordings')
    op.drop_index('ix_recordings_retain_until', table_name='recordings', postgresql_where="status = 'stored'")
    op.drop_index('ix_recordings_call_id', table_name='recordings')
    op.drop_index('ix_recordings_agent_id_started_at', table_name='recordings')
    op.drop_table('recordings')
