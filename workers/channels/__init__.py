"""One adapter per delivery channel; see base.py for the shared interface."""
