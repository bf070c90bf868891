"""Contact channels: read the registry, set a state (the banner follows at once)."""
from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from ... import contacts, db, queues
from ...models import ContactChannel
from . import schemas
from .problems import answer_problems, needs

blp = Blueprint("contacts", __name__, url_prefix="/api/v1/contacts",
                description="Contact channels: the company's own ways to be reached")
answer_problems(blp)


def contact_out(c: ContactChannel) -> dict[str, Any]:
    """Return a contact channel as the API shows it."""
    return {"key": c.key, "kind": c.kind, "label": {"sv": c.label_sv, "en": c.label_en},
            "value": c.value, "state": c.state, "depends_on": list(c.depends_on or []),
            "verified_at": c.verified_at, "updated_at": c.updated_at}


@blp.get("")
@blp.response(200, schemas.ContactOut(many=True))
@needs("view")
def index() -> list[dict[str, Any]]:
    """List the contact channels in display order with their state and dependencies."""
    return [contact_out(c) for c in contacts.all_contacts(db.session())]


@blp.put("/<key>/state")
@blp.arguments(schemas.ContactStateIn)
@blp.response(200, schemas.ContactOut)
@needs("contacts")
def set_state(body: dict[str, Any], key: str) -> dict[str, Any]:
    """Mark a contact channel up, down or unknown; the banner and status page follow."""
    with db.transaction() as s:
        out = contact_out(contacts.set_state(s, key, body["state"]))
    queues.publish_banner_soon()
    return out
