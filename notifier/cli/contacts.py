"""The contact-channel registry."""
from __future__ import annotations

import click

from .base import app, fails_clearly


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
            needs = f"  needs {','.join(c.depends_on)}" if c.depends_on else ""
            click.echo(f"{c.key:16} {c.state:8} {c.kind:8} {c.value:40} {c.label_sv} / "
                       f"{c.label_en}{needs}")


@contacts.command("set", help="Mark a contact channel up, down or unknown.")
@click.argument("key")
@click.argument("state", type=click.Choice(["up", "down", "unknown"]))
@fails_clearly
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
@click.option("--depends-on", "depends_on", default="",
              help="Comma-separated operators/platforms it needs, e.g. nordtel,nordtel-in-platform")
@fails_clearly
def contacts_add(key: str, kind: str, label_sv: str, label_en: str, value: str, state: str,
                 depends_on: str) -> None:
    from .. import contacts as registry
    from .. import db as database

    with app().app_context(), database.transaction() as s:
        registry.register(s, registry.ContactDefinition(
            key, kind, label_sv, label_en, value, state, tuple(depends_on.split(","))))
    click.echo(f"registered {key}")


@contacts.command("depends", help="Record what a contact channel depends on (replaces the list).")
@click.argument("key")
@click.argument("names", nargs=-1)
@fails_clearly
def contacts_depends(key: str, names: tuple[str, ...]) -> None:
    from .. import contacts as registry
    from .. import db as database

    with app().app_context(), database.transaction() as s:
        c = registry.set_dependencies(s, key, list(names))
        click.echo(f"{key} depends on {', '.join(c.depends_on) or 'nothing recorded'}")


@contacts.command("verify", help="Record that a contact channel was checked and works as registered.")
@click.argument("key")
@fails_clearly
def contacts_verify(key: str) -> None:
    from .. import contacts as registry
    from .. import db as database

    with app().app_context(), database.transaction() as s:
        registry.verify(s, key)
    click.echo(f"{key} verified")


@contacts.command("fail", help="A dependency failed (an operator, a platform): show, or with --yes "
                               "mark down, every contact channel that depends on it.")
@click.argument("dependency")
@click.option("--yes", is_flag=True, help="Mark them down now (the banner follows at once)")
@click.option("--up", "restored", is_flag=True, help="It works again: mark them up instead")
@fails_clearly
def contacts_fail(dependency: str, yes: bool, restored: bool) -> None:
    from .. import contacts as registry
    from .. import db as database
    from .. import queues

    state = "up" if restored else "down"
    with app().app_context():
        with database.transaction() as s:
            found = registry.depending_on(s, dependency)
            if not found:
                click.echo(f"no contact channel depends on {dependency}")
                return
            if not yes:
                click.echo(f"would mark {state}: {', '.join(c.key for c in found)} "
                           "(add --yes to do it)")
                return
            changed = registry.set_dependency_state(s, dependency, state)
        queues.publish_banner_soon()
    click.echo(f"marked {state}: {', '.join(c.key for c in changed) or 'nothing (already)'}")
