"""agent phones: a static contact or a PJSIP registration we provision in Asterisk

Revision ID: 20261123_0005
Revises: 20261123_0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '20261123_0005'
down_revision = '20261123_0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('agents', sa.Column('phone_kind', sa.String(length=16),
                                      server_default='contact', nullable=False))
    op.alter_column('agents', 'contact', existing_type=sa.String(length=300), nullable=True)
    op.add_column('agents', sa.Column('sip_username', sa.String(length=40), nullable=True))
    op.add_column('agents', sa.Column('sip_md5_cred', sa.String(length=32), nullable=True))
    op.add_column('agents', sa.Column('sip_endpoint', sa.String(length=40), nullable=True))
    op.add_column('agents', sa.Column('sip_provisioned_at', sa.DateTime(timezone=True),
                                      nullable=True))
    op.create_unique_constraint(op.f('uq_agents_sip_username'), 'agents', ['sip_username'])
    op.create_check_constraint(
        op.f('ck_agents_phone'), 'agents',
        "(phone_kind = 'contact' AND contact IS NOT NULL) OR "
        "(phone_kind = 'registration' AND sip_username IS NOT NULL AND sip_md5_cred IS NOT NULL)")


def downgrade() -> None:
    op.drop_constraint(op.f('ck_agents_phone'), 'agents', type_='check')
    op.drop_constraint(op.f('uq_agents_sip_username'), 'agents', type_='unique')
    # Registration agents have no contact; keep their rows valid for the old schema.
    op.execute("UPDATE agents SET contact = 'sip:' || sip_username || '@invalid' "
               "WHERE contact IS NULL")
    op.alter_column('agents', 'contact', existing_type=sa.String(length=300), nullable=False)
    op.drop_column('agents', 'sip_provisioned_at')
    op.drop_column('agents', 'sip_endpoint')
    op.drop_column('agents', 'sip_md5_cred')
    op.drop_column('agents', 'sip_username')
    op.drop_column('agents', 'phone_kind')
