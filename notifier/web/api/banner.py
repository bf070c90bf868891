"""The banner as the public sees it, for tools that want it with a token."""
from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from ... import banner, db
from . import schemas
from .problems import answer_problems, needs

blp = Blueprint("banner", __name__, url_prefix="/api/v1/banner",
                description="The website banner (read only; derived from open incidents)")
answer_problems(blp)


@blp.get("")
@blp.response(200, schemas.BannerOut)
@needs("view")
def show() -> dict[str, Any]:
    """Return the banner document as computed now (the public copy is /banner.json)."""
    return banner.document(db.session())
