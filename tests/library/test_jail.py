"""Hostile templates: each fails at once with a message naming what was too big, and while a
dozen render at once the banner and the health check keep answering."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from notifier import library
from notifier.library import jail
from notifier.web.editor import form_fields

from ..conftest import AuthActions, wait_until

KEY = "phone-lines-down"
NESTED = ("{% for a in 'x'*10000 %}{% for b in 'x'*10000 %}{% for c in 'x'*10000 %}"
          "{% endfor %}{% endfor %}{% endfor %}")
# The payloads of the security review, each with what the editor is told.
HOSTILE = {
    "nested loops": (NESTED, "loops run more than 10,000 times"),
    "ljust": ("{{ 'x'.ljust(10**9) }}", "text.ljust() pads or formats text to a width"),
    "percent": ("{{ '%0999999999d' % 1 }}", "'%' formatting of text is not allowed"),
    "format": ("{{ '{:>999999999}'.format(1) }}", "text.format() pads or formats text"),
    "chained powers": ("{{ 9**9**9**9**9 }}", "far larger than any message needs"),
    "replace": ("{{ ('x'*10000).replace('x', 'x'*10000) }}", "more than 100,000 characters"),
}
# 435 bytes of YAML aliases: a billion strings as soon as something walks the result.
ALIAS_BOMB = """- name: lol
  type: text
  label: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
  help: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
  options: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
  default: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
  max_length: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
  x: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
  y: [*f,*f,*f,*f,*f,*f,*f,*f,*f]
"""


def _fields(app: Flask, **changes: str) -> dict[str, str]:
    from sqlalchemy import select

    from notifier import db
    from notifier.models import Template, TemplateVersion

    with app.app_context():
        version = db.session().scalars(select(TemplateVersion).join(Template).where(
            Template.key == KEY)).first()
        assert version is not None
        fields = form_fields(version.content)
    fields.update(changes)
    return fields


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_preview_fails_at_once_and_says_what_was_too_big(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any, name: str) -> None:
    source, message = HOSTILE[name]
    auth.login("editor@solvik.example")
    token = auth.csrf(f"/templates/{KEY}/1/edit")
    resp = client.post(f"/templates/{KEY}/preview",
                       data={**_fields(app, **{"en-banner-body": source}), "csrf_token": token})
    assert resp.status_code == 422
    problems = resp.get_json()["problems"]
    assert any("content.en.banner.body: the template is too big to render" in p and message in p
               for p in problems), problems


def test_the_alias_bomb_in_the_variables_field_is_refused(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    auth.login("editor@solvik.example")
    token = auth.csrf(f"/templates/{KEY}/1/edit")
    resp = client.post(f"/templates/{KEY}/preview",
                       data={**_fields(app, variables=ALIAS_BOMB), "csrf_token": token})
    assert resp.status_code == 422
    assert resp.get_json()["problems"] == [
        "Variables: YAML anchors and aliases (& and *) are not allowed (line 3); write each "
        "value out"]
    huge = client.post(f"/templates/{KEY}/preview", data={
        **_fields(app, variables="# " + "x" * 40_000), "csrf_token": token})
    assert "Variables: is 40,002 bytes, more than 32,768" in huge.get_json()["problems"][0]


def test_a_template_file_with_aliases_or_too_big_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bomb.yaml").write_text("key: bomb\nvariables:\n" + ALIAS_BOMB.replace(
        "- name", "  - name").replace("\n  ", "\n    "), encoding="utf-8")
    with pytest.raises(library.TemplateError, match="anchors and aliases"):
        library.load_file(tmp_path / "bomb.yaml")
    (tmp_path / "big.yaml").write_text("key: big\n# " + "x" * 200_000, encoding="utf-8")
    with pytest.raises(library.TemplateError, match="more than 131,072"):
        library.load_file(tmp_path / "big.yaml")


def spin() -> None:
    """Burn processor time for ever."""
    while True:
        pass


def hog() -> None:
    """Take memory for ever."""
    grow = ["x" * 2**20]
    while True:
        grow.append(grow[-1] + "x")


def test_the_jail_stops_what_the_sandbox_did_not_foresee() -> None:
    with pytest.raises(library.RenderError, match=r"more than 2 s of processor time"):
        jail.run(spin)
    with pytest.raises(library.RenderError, match=r"more than 256 MB of memory"):
        jail.run(hog)
    source = "{% set a = 'x'*10000 %}{% set b = ([a]*10000)|join %}{{ ([b]*3)|join|length }}"
    with pytest.raises(library.RenderError, match="more memory than a message can"):
        jail.run(library.sandbox._render_part, source, {}, False, "p", 100)
    assert jail.run(library.sandbox._render_part, "{{ 6 * 7 }}", {}, False, "p", 100) == "42"


@pytest.fixture
def gunicorn(env: dict[str, str], demo: Any, tmp_path: Path) -> Any:
    """Serve the notifier with gunicorn as production does: one worker with four threads."""
    port = env["NOTIFIER_PORT"]
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "4",
                             "--bind", f"127.0.0.1:{port}", "notifier:create_app()"],
                            env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(f"{base}/healthz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(up, timeout=60, what="gunicorn")
        yield base
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


def _editor_session(base: str) -> tuple[requests.Session, str]:
    session = requests.Session()
    page = session.get(f"{base}/login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    session.post(f"{base}/login", data={"email": "editor@solvik.example",
                                        "password": "correct-horse-battery", "csrf_token": token},
                 timeout=30)
    page = session.get(f"{base}/templates/{KEY}/1/edit", timeout=30).text
    return session, re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


@pytest.mark.slow
def test_a_dozen_hostile_previews_at_once_leave_the_banner_and_health_answering(
        app: Flask, gunicorn: str) -> None:
    session, token = _editor_session(gunicorn)
    payloads = [source for source, _ in HOSTILE.values()] * 2
    stop = threading.Event()
    answers: list[int] = []

    def watch() -> None:
        while not stop.is_set():
            for path in ("/healthz", "/banner.json"):
                answers.append(requests.get(gunicorn + path, timeout=30).status_code)

    def preview(source: str) -> requests.Response:
        data = {**_fields(app, **{"sv-banner-body": source}), "csrf_token": token}
        return session.post(f"{gunicorn}/templates/{KEY}/preview", data=data, timeout=60)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(len(payloads)) as pool:
            results = list(pool.map(preview, payloads))
    finally:
        stop.set()
        watcher.join()
    assert answers and set(answers) == {200}
    for resp in results:
        # Refused as too big, or turned away at once while two others render.
        assert resp.status_code in (422, 503), resp.text
        problem = resp.json()["problems"][0]
        assert "too big to render" in problem or "Several previews" in problem
    assert any(r.status_code == 422 for r in results)
