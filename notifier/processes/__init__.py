"""The process side: `notifier up`, the embedded Valkey, the demo seed."""
