"""The email layout: wrap a rendered email's plain text in the accessible HTML part."""
from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from pathlib import Path

from jinja2 import Environment, StrictUndefined, Template
from markupsafe import Markup, escape

from .sandbox import _Job

_LINK_RE = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
EMAIL_FOOTER = {
    "sv": "Du får det här meddelandet eftersom du prenumererar på driftinformation från {org}.",
    "en": "You receive this message because you subscribe to service notices from {org}.",
}


@functools.lru_cache(maxsize=1)
def _layout() -> Template:
    """Compile the email layout once; it is our own file, so a plain environment will do."""
    source = (Path(__file__).parent.parent / "layouts" / "email.html").read_text(encoding="utf-8")
    env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                      lstrip_blocks=True)
    return env.from_string(source)


def _email_html(job: _Job, subject: str, text: str) -> str:
    """Wrap the plain text in the accessible email layout, escaped and with live links."""
    return _layout().render(
        language=job.language, subject=subject, organisation=job.organisation,
        severity=job.spec.severity, paragraphs=list(_paragraphs(text)), drill=job.drill,
        footer=EMAIL_FOOTER[job.language].format(org=job.organisation),
    )


def _paragraphs(text: str) -> Iterable[Markup]:
    """Split plain text into escaped HTML paragraphs, turning addresses into links."""
    for block in re.split(r"\n\s*\n", text):
        html = _LINK_RE.sub(_link, str(escape(block)))
        yield Markup(html.replace("\n", "<br>\n"))


def _link(match: re.Match[str]) -> str:
    url = match.group(0).rstrip(".,;:!?)")
    rest = match.group(0)[len(url):]
    href = url if "://" in url else f"https://{url}"
    return f'<a href="{href}" style="color:#0b5cad;">{url}</a>{rest}'
