"""The `notifier` command: run the processes, manage data, send notices without the console.

One module per command group; this one only assembles them.
"""
from __future__ import annotations

import click

from . import contacts, database, notices, processes, reports, subscribers, templates, users


@click.group(help="notifier: crisis notices by SMS, email, Telegram and a website banner.")
def main() -> None:
    """Group every command."""


for command in (processes.up, processes.web, processes.worker, processes.sandbox,
                database.db, users.users, templates.templates, contacts.contacts,
                subscribers.subscribers, notices.send, notices.status, notices.pause,
                notices.resume, notices.cancel, notices.reroute, reports.report):
    main.add_command(command)
