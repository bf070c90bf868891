"""Template versions in the database: import as drafts, four-eyes approval, export."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, library
from .errors import NotifierError
from .models import Role, Template, TemplateVersion, User, utcnow


class ApprovalError(NotifierError):
    """A template version cannot be approved as asked."""


@dataclass
class ImportReport:
    """What an import did, per template key."""

    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def import_specs(s: Session, specs: list[library.TemplateSpec], author: str,
                 author_id: int | None = None) -> ImportReport:
    """Store each spec as a new draft, unless a version with the same content exists."""
    report = ImportReport()
    for spec in specs:
        digest = library.content_hash(spec)
        template = s.scalar(select(Template).where(Template.key == spec.key))
        if template is None:
            template = Template(key=spec.key)
            s.add(template)
            s.flush()
        if any(v.content_hash == digest and v.state != "retired" for v in template.versions):
            report.unchanged.append(spec.key)
            continue
        number = max((v.number for v in template.versions), default=0) + 1
        s.add(TemplateVersion(template_id=template.id, number=number, state="draft",
                              content=library.spec_to_data(spec), content_hash=digest,
                              author=author, author_id=author_id))
        s.flush()
        s.refresh(template)
        audit.record(s, "template.draft", f"template:{spec.key}", who=author, version=number)
        report.created.append(spec.key)
    return report


def import_dir(s: Session, folder: Path, author: str, author_id: int | None = None) -> ImportReport:
    """Import every template file in a folder as drafts."""
    return import_specs(s, library.load_dir(folder), author, author_id)


def approve(s: Session, version: TemplateVersion, approver: User, comment: str = "") -> None:
    """Approve a draft: needs the approver role and a different person from the author."""
    if Role(approver.role) not in (Role.APPROVER, Role.ADMIN):
        raise ApprovalError(f"{approver.email} is {approver.role}: only an approver can approve.")
    if version.author_id == approver.id or version.author == f"user:{approver.email}":
        raise ApprovalError("You wrote this version, so someone else must approve it (four-eyes).")
    if version.state != "draft":
        raise ApprovalError(f"Version {version.number} is {version.state}, not a draft.")
    for other in version.template.versions:
        if other.state == "approved":
            other.state = "retired"
    version.state, version.approver_id, version.approved_at = "approved", approver.id, utcnow()
    version.comment = comment
    audit.record(s, "template.approve", f"template:{version.template.key}",
                 who=f"user:{approver.email}", version=version.number, comment=comment)


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
