"""The contact-channel registry."""
from __future__ import annotations

import click

from .base import acts_as, app, fails_clearly


@click.group(help="The contact-channel registry (the company's own phone numbers, chat, ...).")
def contacts() -> None:
    """Group contact-channel commands."""


@contacts.command("list", help="List contact channels and their state.")
@fails_clearly
def contacts_list() -> None:
    from .. import contacts as registry
    from .. import db as database

    with app().app_context(), database.transaction() as s:
        for c in registry.all_contacts(s):
            click.echo(f"{c.key:16} {c.state:8} {c.kind:8} {c.value:40} {c.label_sv} / {c.label_en}")


@contacts.command("set", help="Mark a contact channel up, down or unknown.")
@click.argument("key")
@click.argument("state", type=click.Choice(["up", "down", "unknown"]))
@fails_clearly
@acts_as("contacts")
def contacts_set(key: str, state: str) -> None:
    from .. import contacts as registry
    from .. import db as database
    from .. import queues

    a = app()
    with a.app_context():
        with database.transaction() as s:
            registry.set_state(s, key, state)
        queues.publish_banner_soon()
    click.echo(f"{key} is {state}")


@contacts.command("add", help="Register or update a contact channel.")
@click.argument("key")
@click.option("--kind", required=True, type=click.Choice(["phone", "chat", "email", "webform",
                                                          "office", "social"]))
@click.option("--sv", "label_sv", required=True, help="Label in Swedish")
@click.option("--en", "label_en", required=True, help="Label in English")
@click.option("--value", required=True, help="Number, address or https link")
@click.option("--state", default="up", type=click.Choice(["up", "down", "unknown"]))
@fails_clearly
@acts_as("contacts")
def contacts_add(key: str, kind: str, label_sv: str, label_en: str, value: str, state: str) -> None:
    from .. import contacts as registry
    from .. import db as database

    with app().app_context(), database.transaction() as s:
        registry.register(s, registry.ContactDefinition(key, kind, label_sv, label_en, value, state))
    click.echo(f"registered {key}")
