"""console: the language a person chose, the SMS budget accepted at approval

Revision ID: 0005_console
Revises: 0004
Create Date: 2026-11-30 16:26:33.356225
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005_console'
down_revision = '0007_customers'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('template_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sms_budget', sa.Integer(), nullable=True))

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('language')

    with op.batch_alter_table('template_version', schema=None) as batch_op:
        batch_op.drop_column('sms_budget')
