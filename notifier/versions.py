"""Template versions in the database: import as drafts, four-eyes approval, export."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, library
from .errors import NotifierError
from .models import AuditEvent, Role, Template, TemplateVersion, User, utcnow

# Who acts on a version: a console account, or an identity string such as "cli:ann".
Actor = User | str
STATES = ("draft", "approved", "retired", "rejected")


class ApprovalError(NotifierError):
    """A template version cannot be approved as asked."""


@dataclass
class ImportReport:
    """What an import did, per template key."""

    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def import_specs(s: Session, specs: list[library.TemplateSpec], author: str,
                 author_id: int | None = None) -> ImportReport:
    """Store each spec as a new draft, unless a live version with the same content exists."""
    report = ImportReport()
    for spec in specs:
        if _add_draft(s, spec, author, author_id, "template.draft") is None:
            report.unchanged.append(spec.key)
        else:
            report.created.append(spec.key)
    return report


def _add_draft(s: Session, spec: library.TemplateSpec, author: str, author_id: int | None,
               action: str, **detail: Any) -> TemplateVersion | None:
    """Add a draft version of spec, or return None when a draft or approved one has its content."""
    digest = library.content_hash(spec)
    template = s.scalar(select(Template).where(Template.key == spec.key))
    if template is None:
        template = Template(key=spec.key)
        s.add(template)
        s.flush()
    if any(v.content_hash == digest and v.state in ("draft", "approved")
           for v in template.versions):
        return None
    number = max((v.number for v in template.versions), default=0) + 1
    version = TemplateVersion(template_id=template.id, number=number, state="draft",
                              content=library.spec_to_data(spec), content_hash=digest,
                              author=author, author_id=author_id)
    s.add(version)
    s.flush()
    s.refresh(template)
    audit.record(s, action, f"template:{spec.key}", who=author, version=number, **detail)
    return version


def save_edit(s: Session, base: TemplateVersion, data: dict[str, Any],
              author: User) -> TemplateVersion | None:
    """Store edited content of a template as a new draft; None when nothing changed."""
    spec = library.parse_spec({**data, "key": base.template.key},
                              source=f"{base.template.key} (edited)")
    return _add_draft(s, spec, f"user:{author.email}", author.id, "template.edit",
                      based_on=base.number)


def import_dir(s: Session, folder: Path, author: str, author_id: int | None = None) -> ImportReport:
    """Import every template file in a folder as drafts."""
    return import_specs(s, library.load_dir(folder), author, author_id)


def _who(actor: Actor) -> str:
    return f"user:{actor.email}" if isinstance(actor, User) else actor


def _check_reviewer(version: TemplateVersion, actor: Actor, verb: str) -> None:
    """Refuse a reviewer without the approver role, or a version that is not a draft."""
    if isinstance(actor, User) and Role(actor.role) not in (Role.APPROVER, Role.ADMIN):
        raise ApprovalError(f"{actor.email} is {actor.role}: only an approver can {verb}.")
    if version.state != "draft":
        raise ApprovalError(f"{version.template.key} version {version.number} is "
                            f"{version.state}, not a draft: only a draft can be {verb}d.")


def approve(s: Session, version: TemplateVersion, approver: Actor, comment: str = "") -> None:
    """Approve a draft: needs the approver role and a different person from the author.

    A console user is checked by account and role; an identity string (the CLI's
    "cli:<os user>") by name only, so the same OS user cannot approve its own import.
    """
    _check_reviewer(version, approver, "approve")
    who = _who(approver)
    if version.author == who or (isinstance(approver, User) and version.author_id == approver.id):
        raise ApprovalError(f"{who} wrote {version.template.key} version {version.number}, so "
                            "someone else must approve it (four-eyes).")
    newer = [v.number for v in version.template.versions
             if v.state == "approved" and v.number > version.number]
    if newer:
        raise ApprovalError(f"Version {newer[0]} is approved and newer than version "
                            f"{version.number}: edit the approved version instead.")
    for other in version.template.versions:
        if other.state == "approved":
            other.state = "retired"
            audit.record(s, "template.retire", f"template:{version.template.key}", who=who,
                         version=other.number, replaced_by=version.number)
    version.state, version.approved_at = "approved", utcnow()
    version.approver_id = approver.id if isinstance(approver, User) else None
    version.comment = comment
    version.sms_budget = sms_budget(s, version)
    audit.record(s, "template.approve", f"template:{version.template.key}",
                 who=who, version=version.number, comment=comment)


def sms_budget(s: Session, version: TemplateVersion) -> int | None:
    """Measure the longest SMS of a version (every optional field filled in), in segments."""
    from . import contacts, samples

    organisation = (current_app.config["ORGANISATION"] if has_app_context()
                    else library.DEFAULT_ORGANISATION)
    try:
        spec = library.parse_spec(version.content)
        return samples.worst_sms_segments(spec, contacts.options(s), organisation)
    except NotifierError:
        return None  # the send preview measures it then


def reject(s: Session, version: TemplateVersion, reviewer: Actor, comment: str) -> None:
    """Reject a draft with a comment saying what to change; the approved version stays in use."""
    _check_reviewer(version, reviewer, "reject")
    if not comment.strip():
        raise ApprovalError("Say why in a comment, so the author knows what to change.")
    version.state, version.comment = "rejected", comment.strip()
    audit.record(s, "template.reject", f"template:{version.template.key}",
                 who=_who(reviewer), version=version.number, comment=comment.strip())


@dataclass(frozen=True)
class Step:
    """One recorded step of a template version: who did what, when."""

    action: str  # draft | edit | approve | reject | retire
    who: str
    at: datetime
    comment: str = ""


def history(s: Session, key: str) -> dict[int, list[Step]]:
    """Return the audit trail of a template per version number, oldest step first."""
    events = s.scalars(select(AuditEvent).where(AuditEvent.subject == f"template:{key}",
                                                AuditEvent.action.like("template.%"))
                       .order_by(AuditEvent.id))
    steps: dict[int, list[Step]] = {}
    for event in events:
        number = int((event.detail or {}).get("version", 0))
        steps.setdefault(number, []).append(Step(
            event.action.removeprefix("template."), event.actor, event.at,
            str((event.detail or {}).get("comment", ""))))
    return steps


def find(s: Session, key: str, number: int | None = None) -> TemplateVersion:
    """Return version `number` of a template, or its latest draft when number is None."""
    template = s.scalar(select(Template).where(Template.key == key))
    if template is None:
        known = ", ".join(s.scalars(select(Template.key).order_by(Template.key))) or "none"
        raise ApprovalError(f"No template {key!r}. Known templates: {known}.")
    for version in reversed(template.versions):
        if version.number == number or (number is None and version.state == "draft"):
            return version
    if number is None:
        raise ApprovalError(f"Template {key!r} has no draft: edit or import it first.")
    raise ApprovalError(f"Template {key!r} has no version {number}; it has "
                        f"{', '.join(str(v.number) for v in template.versions)}.")


def approved(s: Session) -> list[TemplateVersion]:
    """Return the approved version of every template that has one."""
    return list(s.scalars(select(TemplateVersion).join(Template)
                          .where(TemplateVersion.state == "approved").order_by(Template.key)))


def export_dir(s: Session, folder: Path) -> list[Path]:
    """Write the approved set back as YAML files."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for version in approved(s):
        path = folder / f"{version.template.key}.yaml"
        path.write_text(yaml.safe_dump(version.content, allow_unicode=True, sort_keys=False))
        written.append(path)
    return written


def create(s: Session, key: str, source_key: str, author: User) -> TemplateVersion:
    """Write a new template under its own key, as a draft copy of another template's wording."""
    if s.scalar(select(Template).where(Template.key == key)) is not None:
        raise ApprovalError(f"A template {key!r} exists already: choose another key, or edit "
                            "that template.")
    source = s.scalar(select(Template).where(Template.key == source_key))
    if source is None or not source.versions:
        raise ApprovalError("Choose the template to start from.")
    latest = next((v for v in reversed(source.versions) if v.state == "approved"),
                  source.versions[-1])
    spec = library.parse_spec({**latest.content, "key": key}, source=key)
    version = _add_draft(s, spec, f"user:{author.email}", author.id, "template.create",
                         based_on=source_key)
    if version is None:  # unreachable: a new key has no versions to match
        raise ApprovalError(f"Template {key!r} could not be created.")
    return version
