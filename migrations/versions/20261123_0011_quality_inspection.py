"""quality inspection (R16): each month's sampled recordings per agent, assigned to inspectors,
with their five 1-5 scores and comment (a recording is sampled at most once); the sampling runs

Revision ID: 20261123_0011
Revises: 20261123_0010
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '20261123_0011'
down_revision = '20261123_0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('qa_runs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('ran_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('per_agent', sa.SmallInteger(), nullable=False),
    sa.Column('seed', sa.String(length=64), nullable=False),
    sa.Column('added', sa.Integer(), nullable=False),
    sa.Column('assigned', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qa_runs'))
    )
    op.create_index('ix_qa_runs_month', 'qa_runs', ['month', 'ran_at'], unique=False)
    op.create_table('qa_samples',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('recording_id', sa.Uuid(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('agent_id', sa.Uuid(), nullable=False),
    sa.Column('inspector_user_id', sa.Uuid(), nullable=True),
    sa.Column('sampled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('greeting', sa.SmallInteger(), nullable=True),
    sa.Column('attitude', sa.SmallInteger(), nullable=True),
    sa.Column('tone', sa.SmallInteger(), nullable=True),
    sa.Column('summary', sa.SmallInteger(), nullable=True),
    sa.Column('unexpected', sa.SmallInteger(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('scored_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('scored_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('revision', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('(greeting IS NULL AND attitude IS NULL AND tone IS NULL AND summary IS NULL AND unexpected IS NULL AND scored_at IS NULL) OR (greeting BETWEEN 1 AND 5 AND attitude BETWEEN 1 AND 5 AND tone BETWEEN 1 AND 5 AND summary BETWEEN 1 AND 5 AND unexpected BETWEEN 1 AND 5 AND scored_at IS NOT NULL)', name=op.f('ck_qa_samples_score')),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_qa_samples_agent_id_agents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['inspector_user_id'], ['users.id'], name=op.f('fk_qa_samples_inspector_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recording_id'], ['recordings.id'], name=op.f('fk_qa_samples_recording_id_recordings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['scored_by_user_id'], ['users.id'], name=op.f('fk_qa_samples_scored_by_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qa_samples')),
    sa.UniqueConstraint('recording_id', name=op.f('uq_qa_samples_recording_id'))
    )
    op.create_index('ix_qa_samples_inspector_user_id_month', 'qa_samples', ['inspector_user_id', 'month'], unique=False)
    op.create_index('ix_qa_samples_month_agent_id', 'qa_samples', ['month', 'agent_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_qa_samples_month_agent_id', table_name='qa_samples')
    op.drop_index('ix_qa_samples_inspector_user_id_month', table_name='qa_samples')
    op.drop_table('qa_samples')
    op.drop_index('ix_qa_runs_month', table_name='qa_runs')
    op.drop_table('qa_runs')
