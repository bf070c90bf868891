"""Talking with customers without a public URL: Telegram long polling, a sandbox call."""
from __future__ import annotations

import click

from .base import app, fails_clearly


@click.group(help="The Telegram bot.")
def telegram() -> None:
    """Group Telegram commands."""


@telegram.command("poll", help="Answer the bot by long polling (getUpdates), for a site that "
                  "Telegram cannot reach by webhook. Runs until Ctrl-C.")
@click.option("--once", is_flag=True, help="Fetch and answer what is waiting, then stop.")
@click.option("--drop-webhook", is_flag=True, help="Delete the bot's webhook first (Telegram "
              "answers no polling while one is set).")
@fails_clearly
def telegram_poll(once: bool, drop_webhook: bool) -> None:
    from .. import bot

    try:
        handled = bot.poll(app(), once=once, drop_webhook=drop_webhook)
    except KeyboardInterrupt:
        return
    click.echo(f"{handled} updates answered")


@click.group(help="The status line (NOTIFIER_VOICE_NUMBER).")
def voice() -> None:
    """Group status-line commands."""


@voice.command("call", help="Play a call to the status line through the sandbox and print "
               "what the caller hears (nothing real is called). Needs the console running.")
@click.option("--press", type=click.Choice(["1", "2"]), help="Press a key after the message.")
@click.option("--caller", default="+46701740699", show_default=True)
@fails_clearly
def voice_call(press: str | None, caller: str) -> None:
    from ..errors import NotifierError
    from ..sandbox.client import SandboxClient

    cfg = app().config
    twilio = cfg["PROVIDERS"]["twilio"]
    if not twilio.sandbox:
        raise NotifierError("Twilio is not the sandbox here: call the real number instead.")
    with SandboxClient(str(twilio.api_url)) as sandbox:
        heard = sandbox.call(f"{cfg['PUBLIC_URL']}/webhooks/twilio/voice", caller=caller,
                             press=press)
    for said in heard:
        click.echo(f"[{said['language'] or '-'}] {said['text']}")
