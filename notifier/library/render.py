"""Rendering: one language x delivery channel of a template, with the channel's checks."""
from __future__ import annotations

import re
from collections.abc import Callable

from ..channels import DELIVERY_CHANNELS
from ..i18n import LANGUAGES
from .display import _context
from .layout import _email_html
from .sandbox import _Job
from .smsencoding import analyse, is_gsm, normalise_gsm
from .spec import (
    _BARE_AMP_RE,
    _TAG_RE,
    DEFAULT_ORGANISATION,
    HEADLINE_WARN_LENGTH,
    LINK_SCHEMES,
    SMS_WARN_SEGMENTS,
    TELEGRAM_TAGS,
    RenderedMessage,
    RenderError,
    TemplateSpec,
    Values,
)

_HTTP_RE = re.compile(r"\bhttp://[^\s<>\"']+", re.IGNORECASE)


def render(spec: TemplateSpec, values: Values, language: str, channel: str, *,
           drill: bool = False, organisation: str = DEFAULT_ORGANISATION) -> RenderedMessage:
    """Render one language x delivery channel of a template with validated values."""
    if language not in spec.content:
        raise RenderError(f"{spec.key}: no {language!r} text; use one of {', '.join(LANGUAGES)}")
    if channel not in _RENDERERS:
        raise RenderError(f"{spec.key}: unknown delivery channel {channel!r}; "
                          f"use one of {', '.join(DELIVERY_CHANNELS)}")
    context = {"organisation": organisation, **_context(spec, values, language)}
    job = _Job(spec, language, channel, context, drill, organisation)
    message = _RENDERERS[channel](job)
    message.drill = drill
    return message


def render_all(spec: TemplateSpec, values: Values, *, drill: bool = False,
               organisation: str = DEFAULT_ORGANISATION) -> dict[str, dict[str, RenderedMessage]]:
    """Render every language and delivery channel: language -> channel -> message."""
    return {lang: {ch: render(spec, values, lang, ch, drill=drill, organisation=organisation)
                   for ch in DELIVERY_CHANNELS} for lang in LANGUAGES}


def render_sms_as_written(spec: TemplateSpec, values: Values, language: str,
                          organisation: str = DEFAULT_ORGANISATION) -> str:
    """Render an SMS without the GSM-safe normalisation, to show the editor what it changes."""
    context = {"organisation": organisation, **_context(spec, values, language)}
    job = _Job(spec, language, "sms", context, False, organisation)
    return job.part("text")


def render_preview(spec: TemplateSpec, values: Values, *, organisation: str = DEFAULT_ORGANISATION
                   ) -> tuple[dict[str, dict[str, RenderedMessage]], dict[str, str]]:
    """Render what the editor's preview shows: every variant, and each SMS as written."""
    return (render_all(spec, values, organisation=organisation),
            {lang: render_sms_as_written(spec, values, lang) for lang in LANGUAGES})


def _render_sms(job: _Job) -> RenderedMessage:
    text = normalise_gsm(job.part("text"))
    info = analyse(text)
    warnings = _link_warnings(text)
    if info.segments > SMS_WARN_SEGMENTS:
        warnings.append(f"The SMS is {info.segments} segments (more than {SMS_WARN_SEGMENTS}); "
                        f"each segment is paid and may arrive out of order: shorten it.")
    if info.encoding == "UCS-2":
        odd = "".join(sorted({c for c in text if not is_gsm(c)}))
        warnings.append(f"The SMS uses UCS-2 because of {odd!r}: only {info.per_segment} "
                        f"characters fit a segment; replace those characters.")
    return RenderedMessage(job.language, "sms", text, sms=info, warnings=warnings)


def _render_email(job: _Job) -> RenderedMessage:
    subject = " ".join(job.part("subject").split())
    text = job.part("text")
    html = _email_html(job, subject, text)
    return RenderedMessage(job.language, "email", text, subject=subject, html=html,
                           warnings=_link_warnings(subject + "\n" + text))


def _render_telegram(job: _Job) -> RenderedMessage:
    text = job.part("text", autoescape=True)
    _check_telegram_output(text, f"{job.spec.key}: content.{job.language}.telegram")
    return RenderedMessage(job.language, "telegram", text, warnings=_link_warnings(text))


def _render_banner(job: _Job) -> RenderedMessage:
    headline = " ".join(job.part("headline").split())
    body = job.part("body")
    warnings = _link_warnings(headline + "\n" + body)
    if len(headline) > HEADLINE_WARN_LENGTH:
        warnings.append(f"The banner headline is {len(headline)} characters; over "
                        f"{HEADLINE_WARN_LENGTH} it wraps on phones: shorten it.")
    return RenderedMessage(job.language, "banner", body, headline=headline, body=body,
                           warnings=warnings)


_RENDERERS: dict[str, Callable[[_Job], RenderedMessage]] = {
    "sms": _render_sms, "email": _render_email, "telegram": _render_telegram,
    "banner": _render_banner,
}


def _link_warnings(text: str) -> list[str]:
    return [f"The link {link} is not https; use an https:// address."
            for link in dict.fromkeys(_HTTP_RE.findall(text))]


def _check_telegram_output(text: str, place: str) -> None:
    """Refuse Telegram output with tags or links outside Telegram's HTML subset."""
    for match in _TAG_RE.finditer(text):
        closing, tag, attrs = match.group(1), match.group(2).lower(), match.group(3).strip()
        if tag not in TELEGRAM_TAGS:
            raise RenderError(f"{place}: <{tag}> is not allowed in Telegram; use "
                              f"{', '.join(sorted(TELEGRAM_TAGS))}")
        if attrs and (closing or tag != "a" or not _safe_href(attrs)):
            raise RenderError(f"{place}: <{tag} {attrs}> has attributes Telegram refuses; "
                              f"links need href=\"https://...\"")
    if "<" in _TAG_RE.sub("", text) or ">" in _TAG_RE.sub("", text) or _BARE_AMP_RE.search(text):
        raise RenderError(f"{place}: stray '<', '>' or '&' in the template text; "
                          f"write &lt; &gt; &amp;")


def _safe_href(attrs: str) -> bool:
    match = re.fullmatch(r'href\s*=\s*"([^"]*)"', attrs)
    return match is not None and match.group(1).lower().startswith(LINK_SCHEMES)
