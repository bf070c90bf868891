"""The sandbox demo: Solvik Energi AB, its accounts, contact channels and about 50 subscribers."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from .. import accounts, audience, contacts, versions
from ..contacts import ContactDefinition
from ..models import User

DOMAIN = "solvik.example"
ROLES = ("admin", "operator", "editor", "approver", "viewer")
TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"

# What each depends on: the 020/0771 numbers run on the operator's intelligent-network platform,
# and the switchboard is on the same operator (a weakness the readiness report points out).
CONTACTS = (
    ContactDefinition("kundservice", "phone", "Kundservice", "Customer service", "020-12 34 56",
                      depends_on=("nordtel", "nordtel-in-platform")),
    ContactDefinition("support", "phone", "Support", "Support", "0771-12 34 56",
                      depends_on=("nordtel", "nordtel-in-platform")),
    ContactDefinition("vaxel", "phone", "Växel", "Switchboard", "08-123 45 67",
                      depends_on=("nordtel",)),
    ContactDefinition("chatt", "chat", "Chatta med oss", "Chat with us", f"https://www.{DOMAIN}/chatt",
                      depends_on=("website", "chat-saas")),
    ContactDefinition("epost", "email", "E-post", "Email", f"kundservice@{DOMAIN}",
                      depends_on=("mail-host",)),
    ContactDefinition("ring-upp", "webform", "Bli uppringd", "Request a call back",
                      f"https://www.{DOMAIN}/kontakt", depends_on=("website",)),
    ContactDefinition("kontor", "office", "Kundcenter, Storgatan 1, Sundsvall (vardagar 9-17)",
                      "Customer centre, Storgatan 1, Sundsvall (weekdays 9-17)", "Storgatan 1, Sundsvall"),
)

# Sweden's regulator reserves 070-174 06 05 to 070-174 06 99 for fiction: safe demo numbers.
NAMES_SV = ("Anna Lindqvist", "Erik Johansson", "Maria Karlsson", "Lars Nilsson", "Karin Eriksson",
            "Per Andersson", "Eva Larsson", "Johan Olsson", "Kristina Persson", "Mikael Svensson",
            "Ingrid Gustafsson", "Anders Pettersson", "Birgitta Jonsson", "Nils Jansson",
            "Elin Hansson", "Olof Bengtsson", "Sofia Lundberg", "Gunnar Lindberg", "Ulla Jakobsson",
            "Fredrik Magnusson", "Åsa Lindström", "Björn Olofsson", "Märta Lindgren",
            "Göran Axelsson", "Linnea Berg", "Hans Bergström", "Margareta Lundgren",
            "Stefan Mattsson", "Astrid Berglund", "Jonas Fredriksson", "Sara Sandberg",
            "Mats Henriksson", "Lena Forsberg", "Tomas Sjöberg", "Ebba Wallin", "Rune Engström",
            "Hanna Danielsson", "Bengt Håkansson", "Alva Eklund")
NAMES_EN = ("James Wilson", "Emily Clarke", "Daniel Murphy", "Priya Shah", "Oliver Brown",
            "Sophie Martin", "Ahmed Hassan", "Laura Schmidt")
STAFF = (("Kim Beredskap", "sv"), ("Robin Kommunikation", "sv"), ("Alex Duty", "en"))
PHONE_STYLES = ("070-174 06 {:02d}", "+46 70 174 06 {:02d}", "004670174 06{:02d}", "07017406{:02d}")
REGIONS = ("region-norr", "region-mitt", "region-syd", "region-stockholm")


@dataclass
class DemoAccounts:
    """The seeded accounts and their shared password (shown once)."""

    emails: dict[str, str]
    password: str


def csv_rows() -> list[dict[str, str]]:
    """Return the demo subscribers as CSV records (also a realistic import example)."""
    rows: list[dict[str, str]] = []
    people = [(n, "sv") for n in NAMES_SV] + [(n, "en") for n in NAMES_EN]
    for i, (name, lang) in enumerate(people):
        first = name.split()[0].lower().translate(str.maketrans("åäöé", "aaoe"))
        kind = "business" if i % 5 == 0 else "private"
        rows.append({
            "external_id": f"C{10000 + i}", "name": name, "language": lang,
            "phone": PHONE_STYLES[i % 4].format(5 + i) if i % 7 != 3 else "",
            "email": f"{first}.{i}@example.se" if i % 3 != 1 or i % 7 == 3 else "",
            "telegram_chat_id": str(700000000 + i * 7919) if i % 4 == 0 else "",
            "segments": f"{kind}|{REGIONS[i % len(REGIONS)]}",
        })
    for j, (name, lang) in enumerate(STAFF):
        rows.append({"external_id": f"S{j + 1}", "name": name, "language": lang,
                     "phone": f"070-174 06 {90 + j:02d}", "email": f"beredskap{j + 1}@{DOMAIN}",
                     "telegram_chat_id": str(900000000 + j), "segments": "staff"})
    return rows


def as_csv(rows: list[dict[str, str]]) -> str:
    """Render rows as CSV text with the import header."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["external_id", *audience.COLUMNS])
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def seed(s: Session, password: str | None = None) -> DemoAccounts:
    """Fill an empty database with the demo company; four-eyes holds for its templates."""
    password = password or secrets.token_urlsafe(12)
    users: dict[str, User] = {}
    for role in ROLES:
        users[role] = accounts.create_user(s, f"{role}@{DOMAIN}", role, password,
                                       name=f"Demo {role}")
    s.flush()
    for definition in CONTACTS:
        contacts.register(s, definition)
    editor, approver = users["editor"], users["approver"]
    versions.import_dir(s, TEMPLATES_DIR, f"user:{editor.email}", editor.id)
    s.flush()
    from sqlalchemy import select

    from ..models import TemplateVersion

    for version in s.scalars(select(TemplateVersion).where(TemplateVersion.state == "draft")):
        versions.approve(s, version, approver, comment="Demo library, reviewed.")
    audience.import_csv(s, as_csv(csv_rows()))
    return DemoAccounts({role: u.email for role, u in users.items()}, password)
