"""Swedish and English: every marked text has its Swedish translation, and the catalog is compiled."""
from __future__ import annotations

import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask

from notifier import i18n

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "notifier" / "translations" / "sv" / "LC_MESSAGES"
METHODS = [("notifier/**.py", "python"), ("notifier/pages/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}


def _marked() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), METHODS, keywords=KEYWORDS):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_marked_text_has_a_swedish_translation() -> None:
    with open(CATALOG / "messages.po", "rb") as f:
        catalog = read_po(f)
    missing = sorted(m for m in _marked()
                     if m not in catalog or not catalog[m].string
                     or (isinstance(catalog[m].string, tuple) and not all(catalog[m].string)))
    assert not missing, (f"{len(missing)} texts have no Swedish translation; run "
                         f"`make translations` and fill in messages.po: {missing[:10]}")


def _key(value: object) -> object:
    """Make a plural message's id and strings (lists in one reader, tuples in the other) alike."""
    return tuple(value) if isinstance(value, list | tuple) else value


def test_the_compiled_catalog_is_up_to_date() -> None:
    with open(CATALOG / "messages.po", "rb") as f:
        po = {_key(m.id): _key(m.string) for m in read_po(f) if m.id}
    with open(CATALOG / "messages.mo", "rb") as f:
        mo = {_key(m.id): _key(m.string) for m in read_mo(io.BytesIO(f.read())) if m.id}
    assert mo == {k: v for k, v in po.items() if v}, "run `make translations` to compile messages.mo"


def test_the_language_follows_the_request_then_the_choice_then_the_browser(app: Flask) -> None:
    with app.test_request_context("/", headers={"Accept-Language": "en-GB,en;q=0.9"}):
        assert i18n.current_language() == "en"
    with app.test_request_context("/", headers={"Accept-Language": "de"}):
        assert i18n.current_language() == "sv"
    with app.test_request_context("/?lang=en", headers={"Accept-Language": "sv"}):
        assert i18n.current_language() == "en"
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        i18n.remember("sv")
        assert i18n.current_language() == "sv"
