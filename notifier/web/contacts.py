"""The contact-channel registry in the console: state up/down, and for admins add, edit, order."""
from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from .. import contacts, db, queues
from ..errors import NotifierError
from ..i18n import gettext as _
from ..models import ContactChannel
from .auth import require

bp = Blueprint("contacts", __name__, url_prefix="/contacts")
KEY = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


@bp.get("")
@require("view")
def index() -> str:
    """List the company's contact channels with their state."""
    return render_template("contacts.html", contacts=contacts.all_contacts(db.session()),
                           kinds=contacts.KINDS)


@bp.post("/<key>")
@require("contacts")
def state(key: str) -> Any:
    """Mark a contact channel up or down; the banner follows at once."""
    try:
        with db.transaction() as s:
            contacts.set_state(s, key, request.form.get("state", ""))
    except NotifierError as exc:
        flash(str(exc), "error")
    else:
        queues.publish_banner_soon()
    return redirect(url_for("contacts.index"))


def _definition(key: str, current: str) -> contacts.ContactDefinition:
    form = request.form
    if not KEY.fullmatch(key):
        raise contacts.ContactError(_("The key must be lower-case letters, digits and hyphens, "
                                      "for example switchboard or chat-2."))
    return contacts.ContactDefinition(key, form.get("kind", ""), form.get("label_sv", "").strip(),
                                      form.get("label_en", "").strip(), form.get("value", ""),
                                      current)


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<key>/edit", methods=["GET", "POST"])
@require("admin")
def edit(key: str = "") -> Any:
    """Add a contact channel or change its labels, kind and value."""
    s = db.session()
    found = s.scalar(select(ContactChannel).where(ContactChannel.key == key)) if key else None
    if key and found is None:
        abort(404)
    if request.method == "GET":
        return render_template("contact_edit.html", contact=found, form={}, kinds=contacts.KINDS)
    new_key = key or request.form.get("key", "").strip().lower()
    try:
        if not key and s.scalar(select(ContactChannel).where(ContactChannel.key == new_key)):
            raise contacts.ContactError(_("A contact channel %(key)s exists already: choose "
                                          "another key.", key=new_key))
        with db.transaction() as tx:
            contacts.register(tx, _definition(new_key, found.state if found else "up"))
    except NotifierError as exc:
        flash(str(exc), "error")
        return render_template("contact_edit.html", contact=found, form=request.form,
                               kinds=contacts.KINDS), 422
    queues.publish_banner_soon()
    flash(_("Saved the contact channel %(key)s.", key=new_key), "ok")
    return redirect(url_for("contacts.index"))


@bp.post("/<key>/move")
@require("admin")
def move(key: str) -> Any:
    """Move a contact channel up or down in the order the banner and the messages use."""
    try:
        with db.transaction() as s:
            contacts.move(s, key, request.form.get("direction", "down"))
    except NotifierError as exc:
        flash(str(exc), "error")
    else:
        queues.publish_banner_soon()
    return redirect(url_for("contacts.index"))
