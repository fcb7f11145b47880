"""ivr versions and paths, voicemails, call-back tasks, complaints

Revision ID: 20261123_0002
Revises: 20261123_0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '20261123_0002'
down_revision = '20261123_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ivr_versions',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('origin', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ivr_versions'))
    )
    op.create_index('uq_ivr_versions_active', 'ivr_versions', ['is_active'], unique=True, postgresql_where=sa.text('is_active'))
    op.create_table('complaints',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('customer_number', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('call_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_complaints_call_id_calls'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaints')),
    sa.UniqueConstraint('number', name=op.f('uq_complaints_number'))
    )
    op.create_index('ix_complaints_customer_number_status', 'complaints', ['customer_number', 'status'], unique=False)
    op.create_table('ivr_steps',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('call_id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('node', sa.String(length=64), nullable=False),
    sa.Column('input', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_ivr_steps_call_id_calls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ivr_steps')),
    sa.UniqueConstraint('call_id', 'seq', name='uq_ivr_steps_call_id_seq')
    )
    op.create_table('voicemails',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('call_id', sa.Uuid(), nullable=False),
    sa.Column('caller_number', sa.String(length=64), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('duration_seconds', sa.Float(), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_voicemails_call_id_calls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voicemails'))
    )
    op.create_table('callback_tasks',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('customer_number', sa.String(length=64), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('call_id', sa.Uuid(), nullable=True),
    sa.Column('voicemail_id', sa.Uuid(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_callback_tasks_call_id_calls'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['voicemail_id'], ['voicemails.id'], name=op.f('fk_callback_tasks_voicemail_id_voicemails'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callback_tasks'))
    )
    op.create_index('ix_callback_tasks_status_created_at', 'callback_tasks', ['status', 'created_at'], unique=False)
    op.add_column('calls', sa.Column('ivr_version_id', sa.Integer(), nullable=True))
    op.add_column('calls', sa.Column('ivr_node', sa.String(length=64), nullable=True))
    op.add_column('calls', sa.Column('ivr_outcome', sa.String(length=100), nullable=True))
    op.create_foreign_key(op.f('fk_calls_ivr_version_id_ivr_versions'), 'calls', 'ivr_versions', ['ivr_version_id'], ['id'])


def downgrade() -> None:
    op.drop_constraint(op.f('fk_calls_ivr_version_id_ivr_versions'), 'calls', type_='foreignkey')
    op.drop_column('calls', 'ivr_outcome')
    op.drop_column('calls', 'ivr_node')
    op.drop_column('calls', 'ivr_version_id')
    op.drop_index('ix_callback_tasks_status_created_at', table_name='callback_tasks')
    op.drop_table('callback_tasks')
    op.drop_table('voicemails')
    op.drop_table('ivr_steps')
    op.drop_index('ix_complaints_customer_number_status', table_name='complaints')
    op.drop_table('complaints')
    op.drop_index('uq_ivr_versions_active', table_name='ivr_versions', postgresql_where=sa.text('is_active'))
    op.drop_table('ivr_versions')
