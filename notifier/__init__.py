"""notifier: crisis-communication notifier."""
