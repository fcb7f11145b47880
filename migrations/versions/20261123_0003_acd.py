"""acd

Revision ID: 20261123_0003
Revises: 20261123_0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '20261123_0003'
down_revision = '20261123_0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agents',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('extension', sa.String(length=32), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('skills', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('languages', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('team', sa.String(length=100), nullable=True),
    sa.Column('contact', sa.String(length=300), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('state_reason', sa.String(length=64), nullable=True),
    sa.Column('state_since', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('ready_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('misses_in_a_row', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agents')),
    sa.UniqueConstraint('extension', name=op.f('uq_agents_extension'))
    )
    op.create_table('queues',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('call_type', sa.String(length=32), nullable=False),
    sa.Column('skills', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('strategy', sa.String(length=32), nullable=False),
    sa.Column('max_wait_seconds', sa.Integer(), nullable=False),
    sa.Column('overflow', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('announce_every_seconds', sa.Integer(), nullable=True),
    sa.Column('moh_class', sa.String(length=64), nullable=False),
    sa.Column('wrap_up_seconds', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queues')),
    sa.UniqueConstraint('name', name=op.f('uq_queues_name'))
    )
    op.create_table('agent_state_changes',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('agent_id', sa.Uuid(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('from_state', sa.String(length=16), nullable=False),
    sa.Column('to_state', sa.String(length=16), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=True),
    sa.Column('call_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_agent_state_changes_agent_id_agents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_agent_state_changes_call_id_calls'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_state_changes'))
    )
    op.create_index('ix_agent_state_changes_agent_id_at', 'agent_state_changes', ['agent_id', 'at'], unique=False)
    op.create_table('offers',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('call_id', sa.Uuid(), nullable=False),
    sa.Column('agent_id', sa.Uuid(), nullable=False),
    sa.Column('queue', sa.String(length=64), nullable=False),
    sa.Column('channel_id', sa.String(length=128), nullable=False),
    sa.Column('offered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ringing_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('ring_seconds', sa.Float(), nullable=True),
    sa.Column('rings', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_offers_agent_id_agents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_offers_call_id_calls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offers'))
    )
    op.create_index('ix_offers_agent_id_offered_at', 'offers', ['agent_id', 'offered_at'], unique=False)
    op.create_index('ix_offers_call_id', 'offers', ['call_id'], unique=False)
    op.add_column('calls', sa.Column('queue', sa.String(length=64), nullable=True))
    op.add_column('calls', sa.Column('priority', sa.Integer(), server_default='0', nullable=False))
    op.add_column('calls', sa.Column('enqueued_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('calls', sa.Column('agent_id', sa.Uuid(), nullable=True))
    op.add_column('calls', sa.Column('connected_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('calls', sa.Column('apology_due', sa.Boolean(), server_default='false', nullable=False))
    op.create_foreign_key(op.f('fk_calls_agent_id_agents'), 'calls', 'agents', ['agent_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    op.drop_constraint(op.f('fk_calls_agent_id_agents'), 'calls', type_='foreignkey')
    op.drop_column('calls', 'apology_due')
    op.drop_column('calls', 'connected_at')
    op.drop_column('calls', 'agent_id')
    op.drop_column('calls', 'enqueued_at')
    op.drop_column('calls', 'priority')
    op.drop_column('calls', 'queue')
    op.drop_index('ix_offers_call_id', table_name='offers')
    op.drop_index('ix_offers_agent_id_offered_at', table_name='offers')
    op.drop_table('offers')
    op.drop_index('ix_agent_state_changes_agent_id_at', table_name='agent_state_changes')
    op.drop_table('agent_state_changes')
    op.drop_table('queues')
    op.drop_table('agents')
