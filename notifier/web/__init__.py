"""The web layer: one blueprint per URL area (console, editor, public banner, status, webhooks, login)."""
