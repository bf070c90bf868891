"""The queue worker process: an RQ worker with the scheduler and the reconciler beside it."""
from __future__ import annotations

import threading

from flask import Flask
from rq import SimpleWorker

from notifier import queues
from notifier.channels.registry import ADAPTERS
from workers import context, delivery, reconciler


def run_worker(app: Flask, queue_names: list[str], burst: bool = False) -> None:
    """Run an RQ worker in this process with the reconciler loop beside it."""
    context.use_app(app)
    context.use_queues(queue_names)
    with app.app_context():
        for channel in ADAPTERS:  # SDKs, TLS contexts and pools now, not while a message waits
            if channel in queue_names:
                delivery.adapter(app, channel)
        conn = queues.redis()
        worker = SimpleWorker([queues.queue(n) for n in queue_names], connection=conn)
        reconciler_stop = threading.Event()
        thread = threading.Thread(target=reconciler.run_forever,
                                  args=(app, app.config["RECONCILE_EVERY"], reconciler_stop),
                                  daemon=True)
        thread.start()
        try:
            worker.work(with_scheduler=True, burst=burst, logging_level=app.config["LOG_LEVEL"])
        finally:
            reconciler_stop.set()
            delivery.close_adapters(app)
