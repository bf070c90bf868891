"""Queue jobs and channel adapters."""
