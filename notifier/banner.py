"""The public banner: one precomputed document, served as bytes and exported as static files."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from . import audit, contacts, library
from .models import BannerSnapshot, ContactChannel, Incident, Notice, utcnow

log = logging.getLogger(__name__)
RESOLVED_FOR = timedelta(hours=2)
EMPTY: dict[str, Any] = {"version": 1, "updated": None, "banners": []}
NEVER = "1970-01-01T00:00:00Z"
SCRIPT = Path(__file__).parent / "static" / "banner.js"


def init_app(app: Flask) -> None:
    """Give the app its in-process cache of the banner document."""
    app.extensions["notifier.banner"] = SnapshotCache()


def _link_label(c: ContactChannel, lang: str) -> str:
    label = c.label_sv if lang == "sv" else c.label_en
    if c.kind != "phone":
        return label
    return f"{label} {library.format_phone(c.value, lang)}"


def links(s: Session, named: list[str] | None = None) -> list[dict[str, Any]]:
    """Return links to the working contact channels: those named (in that order), else all."""
    working = [c for c in contacts.all_contacts(s) if c.state == "up"]
    if named:
        order = {key: i for i, key in enumerate(named)}
        working = sorted((c for c in working if c.key in order), key=lambda c: order[c.key])
    out = []
    for c in working:
        href = contacts.href(c.kind, c.value)
        if href:
            out.append({"kind": c.kind, "href": href,
                        "label": {lang: _link_label(c, lang) for lang in ("sv", "en")}})
    return out


def named_contacts(notice: Notice) -> list[str]:
    """Name the contact channels offered so far in the notice's incident, the latest first.

    An update that recommends only the chat keeps the switchboard and email that the first
    notice offered; a channel marked down since drops out in `links`.
    """
    names: list[str] = []
    for earlier in sorted((n for n in notice.incident.notices if n.id <= notice.id),
                          key=lambda n: -n.id):
        for value in earlier.values.values():
            if isinstance(value, list):
                names.extend(str(v) for v in value if str(v) not in names)
    return names


def notice_links(s: Session, notice: Notice) -> list[dict[str, Any]]:
    """Return the links shown with a notice (none with an all-clear)."""
    return [] if notice.kind == "all_clear" else links(s, named_contacts(notice) or None)


def window(notice: Notice) -> tuple[datetime | None, datetime | None]:
    """Return the display window of a planned-maintenance notice (its start and end variables)."""
    if notice.kind != "maintenance":
        return None, None
    found: list[datetime | None] = []
    for name in ("start", "end"):
        try:
            found.append(datetime.fromisoformat(str(notice.values.get(name))))
        except ValueError:
            found.append(None)
    return found[0], found[1]


def _rfc3339(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace(
        "+00:00", "Z")


def _entry(s: Session, incident: Incident, notice: Notice) -> dict[str, Any]:
    text = {lang: {"headline": per["banner"].get("headline") or "",
                   "body": per["banner"].get("body") or ""}
            for lang, per in notice.rendered.items() if "banner" in per}
    entry: dict[str, Any] = {
        "id": f"incident-{incident.id}", "incident_id": incident.id, "notice_id": notice.id,
        "severity": "info" if notice.kind == "all_clear" else notice.severity,
        "starts_at": _rfc3339(window(notice)[0]), "ends_at": _rfc3339(window(notice)[1]),
        "resolved": incident.state == "closed" or notice.kind == "all_clear",
        "text": text, "links": notice_links(s, notice),
    }
    entry["version"] = hashlib.sha256(json.dumps(entry, sort_keys=True).encode()).hexdigest()[:12]
    return entry


def _shown_notice(incident: Incident) -> Notice | None:
    """Return the notice an incident shows on the banner: its latest public banner notice."""
    shown = [n for n in incident.notices if "banner" in n.channels and not n.drill
             and n.state not in ("cancelled", "scheduled")]
    return shown[-1] if shown else None


def _resolved(s: Session) -> Incident | None:
    """Return the one resolved incident the banner may still show, or None.

    Only the most recently closed incident, only for the configured time, and never again once
    a newer incident was opened after it closed: three all-clears in a row show one banner, and
    an old all-clear does not come back when a later incident closes.
    """
    latest = s.scalar(select(Incident).where(Incident.drill.is_(False), Incident.state == "closed",
                                             Incident.closed_at.is_not(None))
                      .order_by(Incident.closed_at.desc(), Incident.id.desc()).limit(1))
    if latest is None or latest.closed_at is None:
        return None
    if latest.closed_at < utcnow() - resolved_for():
        return None
    newer = s.scalar(select(Incident.id).where(Incident.drill.is_(False),
                                               Incident.opened_at > latest.closed_at).limit(1))
    return None if newer is not None else latest


def resolved_for() -> timedelta:
    """Return how long a resolved incident's banner stays up (NOTIFIER_BANNER_RESOLVED_MINUTES)."""
    return timedelta(minutes=float(current_app.config.get("BANNER_RESOLVED_MINUTES",
                                                          RESOLVED_FOR.total_seconds() / 60)))


def document(s: Session) -> dict[str, Any]:
    """Build the banner document: one banner per open incident, else at most one resolved one."""
    banners = []
    for incident in s.scalars(select(Incident).where(Incident.drill.is_(False),
                                                     Incident.state == "open")
                              .order_by(Incident.id.desc())):
        notice = _shown_notice(incident)
        if notice is not None:
            banners.append(_entry(s, incident, notice))
    if not banners:
        # "Lines are back" next to "lines are down" only confuses: a new disruption wins.
        resolved = _resolved(s)
        notice = _shown_notice(resolved) if resolved is not None else None
        if resolved is not None and notice is not None:
            banners.append(_entry(s, resolved, notice))
    return {"version": 1, "banners": banners}


def publish(s: Session) -> bool:
    """Recompute the snapshot; store and export it when it changed. Return True if it did."""
    doc = document(s)
    etag = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32]
    snap = s.get(BannerSnapshot, 1)
    if snap is not None and snap.etag == etag:
        return False
    doc["updated"] = _now_iso()
    body = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    if snap is None:
        s.add(BannerSnapshot(id=1, body=body, etag=etag))
    else:
        snap.body, snap.etag, snap.updated_at = body, etag, utcnow()
    _record(s, doc)
    s.flush()
    export(body)
    return True


def _record(s: Session, doc: dict[str, Any]) -> None:
    """Note in the audit log what the banner shows now; stamp notices shown the first time."""
    shown = [(b["notice_id"], b["incident_id"]) for b in doc["banners"]]
    audit.record(s, "banner.publish", "", who="banner", notices=[n for n, _ in shown],
                 incidents=[i for _, i in shown])
    ids = [n for n, _ in shown]
    if ids:
        s.execute(update(Notice).where(Notice.id.in_(ids), Notice.banner_published_at.is_(None))
                  .values(banner_published_at=utcnow()))


def script_version(script: bytes) -> str:
    """Return the version of banner.js used in its pinned, immutable name."""
    return hashlib.sha256(script).hexdigest()[:12]


def _now_iso() -> str:
    return utcnow().isoformat(timespec="seconds").replace("+00:00", "Z")


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def export(body: str) -> None:
    """Write banner.json and banner.js atomically to the export folder, then call the purge hook."""
    folder = Path(current_app.config["BANNER_EXPORT_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    if SCRIPT.exists():
        script = SCRIPT.read_bytes()
        _atomic_write(folder / "banner.js", script)
        # The pinned, versioned name too, so an SRI snippet works from a copy of the export.
        pinned = folder / f"banner.{script_version(script)}.js"
        if not pinned.exists():
            _atomic_write(pinned, script)
    _atomic_write(folder / "banner.json", body.encode())
    hook = current_app.config.get("BANNER_PURGE_URL")
    if hook:
        try:
            urllib.request.urlopen(urllib.request.Request(hook, method="POST"), timeout=5).close()
        except OSError as exc:
            log.warning("banner purge hook failed: %s", exc)


class SnapshotCache:
    """Hold the banner bytes in memory, re-read from the database at most once a second."""

    def __init__(self, ttl: float = 1.0) -> None:
        self.ttl, self.lock = ttl, threading.Lock()
        self.body, self.etag, self.checked = b"", "", 0.0

    def get(self, s_factory: Any) -> tuple[bytes, str]:
        """Return (body, etag), refreshing from the database when the copy is older than ttl."""
        now = time.monotonic()
        if now - self.checked > self.ttl:
            with self.lock:
                if now - self.checked > self.ttl:
                    with s_factory() as s:
                        snap = s.get(BannerSnapshot, 1)
                    if snap is None:
                        # never published yet: a stable body, so its ETag is stable too
                        self.body = json.dumps({**EMPTY, "updated": NEVER}).encode()
                        self.etag = hashlib.sha256(self.body).hexdigest()[:32]
                    else:
                        self.body, self.etag = snap.body.encode(), snap.etag
                    self.checked = now
        return self.body, self.etag
