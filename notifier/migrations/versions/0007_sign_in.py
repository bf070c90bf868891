"""sign-in: session versions, second factors, time-limited accounts, per-role 2FA policy

Revision ID: 0005_sign_in
Revises: 0004
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_sign_in"
down_revision = "0006_api"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_version", sa.Integer(), nullable=False,
                                      server_default="1"))
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("totp_enabled", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=False,
                                      server_default="0"))
        batch_op.add_column(sa.Column("recovery_codes", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "role_policy",
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("totp_required", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("role", name=op.f("pk_role_policy")),
    )


def downgrade() -> None:
    op.drop_table("role_policy")
    with op.batch_alter_table("user", schema=None) as batch_op:
        for column in ("expires_at", "recovery_codes", "totp_last_step", "totp_enabled",
                       "totp_secret", "session_version"):
            batch_op.drop_column(column)
