"""The `notifier` command: run the processes, manage data, send notices without the console.

One module per command group; this one only assembles them.
"""
from __future__ import annotations

import click

from . import (
    contacts,
    customers,
    database,
    notices,
    processes,
    readiness,
    reports,
    subscribers,
    templates,
    tokens,
    users,
)


@click.group(help="notifier: crisis notices by SMS, email, Telegram and a website banner.")
def main() -> None:
    """Group every command."""


for command in (processes.up, processes.web, processes.worker, processes.sandbox,
                database.db, users.users, users.break_glass, templates.templates, contacts.contacts,
                subscribers.subscribers, tokens.tokens, notices.send, notices.status, notices.pause,
                notices.resume, notices.cancel, notices.reroute, readiness.readiness,
                customers.telegram, customers.voice, reports.report):
    main.add_command(command)
