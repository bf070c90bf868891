"""Redis connection and the RQ queues (one per delivery channel, the banner on its own)."""
from __future__ import annotations

from flask import Flask, current_app
from redis import Redis
from rq import Queue

QUEUE_NAMES = ("banner", "control", "sms", "email", "telegram")
JOB_TIMEOUT = 600

# The jobs, by name: the domain enqueues them without importing the queue runtime (workers/).
DELIVER_BATCH = "workers.jobs.deliver_batch"
PUBLISH_BANNER = "workers.jobs.publish_banner"
START_SCHEDULED = "workers.jobs.start_scheduled"
PLAN_NOTICE = "workers.jobs.plan_notice"


def connect(url: str) -> Redis:
    """Open a Redis connection from a redis:// or unix:// URL."""
    return Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)


def init_app(app: Flask) -> None:
    """Attach a lazily opened Redis connection to the app."""
    app.extensions["notifier.redis"] = None


def redis() -> Redis:
    """Return the app's Redis connection."""
    conn = current_app.extensions.get("notifier.redis")
    if conn is None:
        conn = connect(current_app.config["REDIS_URL"])
        current_app.extensions["notifier.redis"] = conn
    return conn


def queue(name: str) -> Queue:
    """Return the RQ queue of that name."""
    return Queue(name, connection=redis(), default_timeout=JOB_TIMEOUT)


def publish_banner_soon() -> None:
    """Ask the banner worker to recompute and export the public banner."""
    queue("banner").enqueue(PUBLISH_BANNER)
