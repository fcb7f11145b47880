"""complaint workflow (R15): departments, the workflow columns on complaints (department,
assignee, step times, call-back deadlines and attempts, satisfaction, reopen count) and the
complaint timeline

Revision ID: 20261123_0007
Revises: 20261123_0006
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '20261123_0007'
down_revision = '20261123_0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('departments',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('head_user_id', sa.Uuid(), nullable=True),
    sa.Column('webhook_url', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['head_user_id'], ['users.id'], name=op.f('fk_departments_head_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_departments')),
    sa.UniqueConstraint('name', name=op.f('uq_departments_name'))
    )
    op.create_table('complaint_events',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('complaint_id', sa.Uuid(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('from_status', sa.String(length=32), nullable=True),
    sa.Column('to_status', sa.String(length=32), nullable=True),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_complaint_events_complaint_id_complaints'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_complaint_events_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_events'))
    )
    op.create_index('ix_complaint_events_complaint_id_at', 'complaint_events', ['complaint_id', 'at'], unique=False)
    op.add_column('complaints', sa.Column('department_id', sa.Uuid(), nullable=True))
    op.add_column('complaints', sa.Column('assignee_user_id', sa.Uuid(), nullable=True))
    op.add_column('complaints', sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('complaints', sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('complaints', sa.Column('called_back_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('complaints', sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('complaints', sa.Column('callback_due_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('complaints', sa.Column('callback_deadline_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('complaints', sa.Column('callback_attempts', sa.Integer(), server_default='0', nullable=False))
    op.add_column('complaints', sa.Column('satisfaction', sa.Integer(), nullable=True))
    op.add_column('complaints', sa.Column('reopened_count', sa.Integer(), server_default='0', nullable=False))
    op.create_index(op.f('ix_complaints_department_id'), 'complaints', ['department_id'], unique=False)
    op.create_foreign_key(op.f('fk_complaints_department_id_departments'), 'complaints', 'departments', ['department_id'], ['id'], ondelete='SET NULL')
    op.create_foreign_key(op.f('fk_complaints_assignee_user_id_users'), 'complaints', 'users', ['assignee_user_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    op.drop_constraint(op.f('fk_complaints_assignee_user_id_users'), 'complaints', type_='foreignkey')
    op.drop_constraint(op.f('fk_complaints_department_id_departments'), 'complaints', type_='foreignkey')
    op.drop_index(op.f('ix_complaints_department_id'), table_name='complaints')
    for column in ('reopened_count', 'satisfaction', 'callback_attempts', 'callback_deadline_at',
                   'callback_due_at', 'closed_at', 'called_back_at', 'resolved_at',
                   'dispatched_at', 'assignee_user_id', 'department_id'):
        op.drop_column('complaints', column)
    op.drop_index('ix_complaint_events_complaint_id_at', table_name='complaint_events')
    op.drop_table('complaint_events')
    op.drop_table('departments')
