"""The queue runtime: the worker process, its jobs, the delivery loop, the reconciler."""
