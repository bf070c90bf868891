"""CAP 1.2 (OASIS Common Alerting Protocol): one alert document per public notice."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from . import clock
from .models import Notice

NS = "urn:oasis:names:tc:emergency:cap:1.2"
LANGUAGES = {"sv": "sv-SE", "en": "en-US"}
# notice severity -> (urgency, severity, certainty)
MAPPING = {
    "critical": ("Immediate", "Severe", "Observed"),
    "warning": ("Expected", "Moderate", "Observed"),
    "info": ("Future", "Minor", "Likely"),
}
ALL_CLEAR = ("Past", "Minor", "Observed")
EVENTS = {
    "maintenance": {"sv": "Planerat underhåll", "en": "Planned maintenance"},
    "all_clear": {"sv": "Störningen är över", "en": "Disruption over"},
}
EVENT = {"sv": "Driftstörning i kundservice", "en": "Customer service disruption"}
INSTRUCTION = {"sv": "Så når du oss just nu:", "en": "How to reach us right now:"}
ET.register_namespace("", NS)


@dataclass(frozen=True)
class Alert:
    """One public notice as CAP sees it: its texts, the earlier alerts, the working links."""

    notice: Notice
    texts: dict[str, tuple[str, str]]  # language -> (headline, body)
    earlier: list[Notice]
    links: list[dict[str, Any]]
    public_url: str
    organisation: str


def sender(public_url: str) -> str:
    """Return the stable CAP sender: the host of the public URL (no spaces, no commas)."""
    return urlsplit(public_url).hostname or "notifier.invalid"


def identifier(public_url: str, notice_id: int) -> str:
    """Return the stable CAP identifier of a notice."""
    return f"{sender(public_url)}.notice.{notice_id}"


def cap_time(moment: datetime) -> str:
    """Format a time as CAP wants it: Swedish local time with an explicit offset, no Z."""
    return clock.to_local(moment).isoformat(timespec="seconds")


def _sub(parent: ET.Element, tag: str, text: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{NS}}}{tag}")
    el.text = text
    return el


def _references(alert: Alert) -> str:
    host = sender(alert.public_url)
    return " ".join(f"{host},{identifier(alert.public_url, n.id)},{cap_time(n.created_at)}"
                    for n in alert.earlier)


def _info(root: ET.Element, alert: Alert, lang: str) -> None:
    notice = alert.notice
    all_clear = notice.kind == "all_clear"
    info = ET.SubElement(root, f"{{{NS}}}info")
    _sub(info, "language", LANGUAGES[lang])
    _sub(info, "category", "Infra")
    _sub(info, "event", EVENTS.get(notice.kind, EVENT)[lang])
    _sub(info, "responseType", "AllClear" if all_clear else "Monitor")
    urgency, severity, certainty = ALL_CLEAR if all_clear else MAPPING.get(
        notice.severity, MAPPING["info"])
    _sub(info, "urgency", urgency)
    _sub(info, "severity", severity)
    _sub(info, "certainty", certainty)
    _sub(info, "senderName", alert.organisation)
    headline, body = alert.texts.get(lang, ("", ""))
    _sub(info, "headline", headline)
    if body:
        _sub(info, "description", body)
    if alert.links:
        lines = [f"- {link['label'][lang]}: {link['href']}" for link in alert.links]
        _sub(info, "instruction", "\n".join([INSTRUCTION[lang], *lines]))
    _sub(info, "web", f"{alert.public_url}/status?lang={lang}")
    web = next((link["href"] for link in alert.links if link["href"].startswith("https:")), None)
    if alert.links:
        _sub(info, "contact", ", ".join(link["label"][lang] for link in alert.links))
    if web:
        _parameter(info, "contactWeb", web)


def _parameter(info: ET.Element, name: str, value: str) -> None:
    param = ET.SubElement(info, f"{{{NS}}}parameter")
    _sub(param, "valueName", name)
    _sub(param, "value", value)


def document(alert: Alert) -> bytes:
    """Build the CAP 1.2 alert of one notice: Alert first, Update (with references) after."""
    notice = alert.notice
    root = ET.Element(f"{{{NS}}}alert")
    _sub(root, "identifier", identifier(alert.public_url, notice.id))
    _sub(root, "sender", sender(alert.public_url))
    _sub(root, "sent", cap_time(notice.created_at))
    _sub(root, "status", "Actual")
    _sub(root, "msgType", "Update" if alert.earlier else "Alert")
    _sub(root, "scope", "Public")
    if alert.earlier:
        _sub(root, "references", _references(alert))
    _sub(root, "incidents", f"{sender(alert.public_url)}.incident.{notice.incident_id}")
    for lang in LANGUAGES:
        if lang in alert.texts:
            _info(root, alert, lang)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data
