"""The `notifier` command as an admin types it, each call its own process."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from notifier import db
from notifier.models import AuditEvent, Delivery, Subscriber
from notifier.sandbox.client import SandboxClient

from ..conftest import notifier_cmd

PASSWORD = "correct-horse-battery"
# Scripts give the account and its password through the environment.
AS_OPERATOR = {"NOTIFIER_AS": "operator@solvik.example", "NOTIFIER_PASSWORD": PASSWORD}
AS_ADMIN = {"NOTIFIER_AS": "admin@solvik.example", "NOTIFIER_PASSWORD": PASSWORD}


def cli(env: dict[str, str], *args: str, stdin: str | None = None,
        account: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(notifier_cmd(*args), env={**os.environ, **env,
                               **(AS_OPERATOR if account is None else account)},
                          input=stdin, capture_output=True, text=True, timeout=120)


@pytest.fixture
def admin(app: Flask) -> str:
    """An admin account for a test without the demo."""
    from notifier import accounts

    with app.app_context(), db.transaction() as s:
        accounts.create_user(s, "admin@solvik.example", "admin", PASSWORD)
    return "admin@solvik.example"


def test_send_waits_and_reports_counts_per_channel(env: dict[str, str], demo: Any, worker: Any,
                                                   sandbox: SandboxClient) -> None:
    worker()
    result = cli(env, "send", "phone-lines-down", "--var", "contacts=vaxel,epost",
                 "--segment", "staff", "--channels", "sms,email,telegram", "--yes", "--wait",
                 "--receipts-timeout", "0")
    assert result.returncode == 0, result.stderr
    assert re.search(r"^notice 1 \(incident 1\) confirmed$", result.stdout, re.MULTILINE)
    for channel in ("sms", "email", "telegram"):
        assert re.search(rf"^{channel}\s+sent 3$", result.stdout, re.MULTILINE), result.stdout
    assert len(sandbox.messages()) == 9

    status = cli(env, "status", "1")
    assert "phone-lines-down (completed)" in status.stdout
    assert re.search(r"^first sent \d{4}-\d\d-\d\d \d\d:\d\d:\d\d, last sent .+ \(Swedish time\)$",
                     status.stdout, re.MULTILINE), status.stdout
    assert re.search(r"^sms\s+sent 3$", status.stdout, re.MULTILINE)


def test_send_exits_1_when_deliveries_fail_permanently(env: dict[str, str], demo: Any,
                                                       worker: Any, sandbox: SandboxClient) -> None:
    worker()
    sandbox.fault("sms", "invalid", addresses=["+46701740690"])
    result = cli(env, "send", "phone-lines-down", "--var", "contacts=vaxel", "--segment", "staff",
                 "--channels", "sms", "--yes", "--wait",
                 "--receipts-timeout", "0")
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"^sms\s+failed 1, sent 2$", result.stdout, re.MULTILINE), result.stdout


def test_send_with_a_missing_variable_names_it_and_sends_nothing(
        app: Flask, env: dict[str, str], demo: Any, sandbox: SandboxClient) -> None:
    result = cli(env, "send", "phone-lines-down", "--yes")
    assert result.returncode == 2
    assert "Contact channels that work" in result.stderr
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Delivery)) == 0
    assert sandbox.messages() == []


def test_send_refuses_without_yes_and_with_unknown_things(env: dict[str, str], demo: Any) -> None:
    no_yes = cli(env, "send", "phone-lines-down", "--var", "contacts=vaxel")
    assert no_yes.returncode == 2 and "--yes" in no_yes.stderr
    unknown = cli(env, "send", "no-such-template", "--yes")
    assert unknown.returncode == 2 and "Known templates" in unknown.stderr
    segment = cli(env, "send", "phone-lines-down", "--var", "contacts=vaxel", "--segment", "nope",
                  "--yes")
    assert segment.returncode == 2 and "Known segments" in segment.stderr
    down = cli(env, "contacts", "set", "vaxel", "down")
    assert down.returncode == 0
    offered = cli(env, "send", "phone-lines-down", "--var", "contacts=vaxel", "--yes")
    assert offered.returncode == 2 and "down" in offered.stderr


def test_subscribers_import_keeps_good_rows_and_reports_bad_ones(
        app: Flask, env: dict[str, str], tmp_path: Path, admin: str) -> None:
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text(
        "name,language,phone,email,telegram_chat_id,segments\n"
        "Anna Lind,sv,070-123 45 67,anna@example.se,,private|region-norr\n"
        "Bad Phone,sv,12345,,,private\n"
        "James Hill,en,+46 70 765 43 21,,4711,business\n"
        "No Address,sv,,,,private\n"
        "Bad Lang,de,0701234500,,,private\n", encoding="utf-8")
    result = cli(env, "subscribers", "import", str(csv_file), account=AS_ADMIN)
    assert result.returncode == 1
    assert "2 added, 0 updated, 3 refused" in result.stdout
    assert "line 3: phone: '12345' is not a valid phone number" in result.stderr
    assert "line 5: no phone, email or telegram_chat_id" in result.stderr
    assert "line 6: language: 'de'" in result.stderr
    with app.app_context():
        names = set(db.session().scalars(select(Subscriber.name)))
    assert names == {"Anna Lind", "James Hill"}


def test_contacts_and_users_commands_are_audited_with_the_account(app: Flask,
                                                                  env: dict[str, str]) -> None:
    first = cli(env, "users", "create", "admin@solvik.example", "--role", "admin",
                stdin=f"{PASSWORD}\n{PASSWORD}\n", account={})
    assert first.returncode == 0, first.stderr
    assert "created admin admin@solvik.example (the first admin)" in first.stdout
    refused = cli(env, "users", "create", "eve@example.se", "--role", "admin",
                  stdin="a-long-password\na-long-password\n", account={})
    assert refused.returncode == 2 and "add --as EMAIL" in refused.stderr
    created = cli(env, "users", "create", "ann@example.se", "--role", "operator",
                  stdin="a-long-password\na-long-password\n", account=AS_ADMIN)
    assert created.returncode == 0, created.stderr
    as_ann = {"NOTIFIER_AS": "ann@example.se", "NOTIFIER_PASSWORD": "a-long-password"}
    not_admin = cli(env, "users", "create", "eve@example.se", "--role", "admin",
                    stdin="a-long-password\na-long-password\n", account=as_ann)
    assert not_admin.returncode == 2
    assert "ann@example.se is operator and may not do this" in not_admin.stderr
    added = cli(env, "contacts", "add", "vaxel", "--kind", "phone", "--sv", "Växel",
                "--en", "Switchboard", "--value", "08-123 45 67", account=as_ann)
    assert added.returncode == 0, added.stderr
    listed = cli(env, "contacts", "list")
    assert "vaxel" in listed.stdout and "+4681234567" in listed.stdout
    bad = cli(env, "contacts", "set", "nope", "down", account=as_ann)
    assert bad.returncode == 2 and "Known keys: vaxel" in bad.stderr
    with app.app_context():
        actors = {e.action: e.actor for e in db.session().scalars(select(AuditEvent))}
    assert actors["contact.register"] == "user:ann@example.se"
    assert actors["user.bootstrap"].startswith("cli:")
    assert "user:eve@example.se" not in {e for e in actors}


def test_templates_check_reports_a_broken_file(env: dict[str, str], tmp_path: Path) -> None:
    good = cli(env, "templates", "check", "templates")
    assert good.returncode == 0 and "templates are valid" in good.stdout
    (tmp_path / "broken.yaml").write_text("key: broken\ntitle: {sv: x}\n", encoding="utf-8")
    bad = cli(env, "templates", "check", str(tmp_path))
    assert bad.returncode == 2
    assert "broken" in bad.stderr


def test_send_works_against_simulators_someone_else_runs(env: dict[str, str], demo: Any,
                                                         tmp_path: Path) -> None:
    import os
    import socket

    from ..conftest import wait_until

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    creds = {"NOTIFIER_TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "NOTIFIER_TWILIO_AUTH_TOKEN": "team-token",
             "NOTIFIER_TWILIO_FROM": "Solvik", "NOTIFIER_SENDGRID_API_KEY": "SG.team.key",
             "NOTIFIER_SENDGRID_FROM": "kundservice@solvik.example",
             "NOTIFIER_TELEGRAM_BOT_TOKEN": "987654:TEAM-bot-token"}
    base = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFIER_")}
    with open(tmp_path / "sandbox.log", "wb") as log:
        simulators = subprocess.Popen(notifier_cmd("sandbox", "--port", str(port)),
                                      env={**base, **creds}, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        client = SandboxClient(url)
        wait_until(lambda: _answers(client), timeout=30, what="the shared simulators")
        ours = {**env, **creds, "NOTIFIER_TWILIO_API_URL": url, "NOTIFIER_SENDGRID_API_URL": url,
                "NOTIFIER_TELEGRAM_API_URL": url}
        worker = subprocess.Popen(notifier_cmd("worker"), env={**os.environ, **ours},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            result = cli(ours, "send", "phone-lines-down", "--var", "contacts=vaxel",
                         "--segment", "staff", "--channels", "sms,email,telegram", "--yes",
                         "--wait", "--receipts-timeout", "0")
        finally:
            worker.terminate()
            worker.wait(15)
        assert result.returncode == 0, result.stdout + result.stderr
        received = client.messages()
        assert len(received) == 9
        assert {m["from"] for m in received if m["channel"] == "sms"} == {"Solvik"}
        client.close()
    finally:
        simulators.terminate()
        simulators.wait(15)


def _answers(client: SandboxClient) -> bool:
    try:
        client.messages()
    except Exception:  # noqa: BLE001 - not up yet
        return False
    return True


def test_pause_resume_cancel_and_reroute_from_the_command_line(app: Flask, env: dict[str, str],
                                                                demo: Any) -> None:
    from click.testing import CliRunner

    from notifier.cli import main

    runner = CliRunner(env=AS_OPERATOR)
    sent = runner.invoke(main, ["send", "phone-lines-down", "--var", "contacts=vaxel",
                                "--channels", "sms", "--yes"])
    assert sent.exit_code == 0, sent.output  # no worker runs: everything stays queued
    assert runner.invoke(main, ["pause", "1"]).output.strip() == "Notice 1 is paused."
    again = runner.invoke(main, ["pause", "1"])
    assert again.exit_code == 2 and "only a notice being sent can be paused" in again.output
    assert runner.invoke(main, ["resume", "1"]).output.strip() == "Notice 1 is resumed."
    moved = runner.invoke(main, ["reroute", "1", "--from", "sms", "--to", "email"])
    with app.app_context():
        emails = db.session().scalar(select(func.count()).select_from(Delivery)
                                     .where(Delivery.channel == "email"))
        rerouted = db.session().scalar(select(func.count()).select_from(Delivery).where(
            Delivery.channel == "sms", Delivery.status == "cancelled"))
    # Only those the email reaches leave the SMS queue; the others keep waiting for SMS.
    assert moved.exit_code == 0 and f"{rerouted} unsent sms deliveries cancelled" in moved.output
    assert f"{emails} go by email" in moved.output and 0 < emails <= rerouted < 43
    assert "Those with no email address stay on sms." in moved.output
    cancelled = runner.invoke(main, ["cancel", "1"])
    assert cancelled.output.strip() == \
        f"Notice 1 is cancelled: {emails + 43 - rerouted} unsent deliveries stopped."


def test_an_excel_export_with_semicolons_in_windows_1252_is_read(app: Flask, env: dict[str, str],
                                                                 tmp_path: Path, admin: str) -> None:
    from click.testing import CliRunner

    from notifier.cli import main

    csv_file = tmp_path / "kunder.csv"
    csv_file.write_bytes("name;language;phone;email;telegram_chat_id;segments\n"
                         "Åsa Öberg;sv;070-123 45 67;;;privat|region-syd\n".encode("cp1252"))
    out = CliRunner(env=AS_ADMIN).invoke(main, ["subscribers", "import", str(csv_file)])
    assert out.exit_code == 0, out.output
    assert "note: read as Windows-1252 (not UTF-8)" in out.output
    assert "note: read with semicolons between columns" in out.output
    assert "new segments: privat, region-syd (check them for typos)" in out.output
    with app.app_context():
        assert db.session().scalar(select(Subscriber.name)) == "Åsa Öberg"


def test_variable_errors_name_the_var_and_what_it_takes(env: dict[str, str], demo: Any) -> None:
    from click.testing import CliRunner

    from notifier.cli import main

    runner = CliRunner(env=AS_OPERATOR)
    typo = runner.invoke(main, ["send", "phone-lines-down", "--var", "contact=vaxel", "--yes"])
    assert typo.exit_code == 2
    assert "--var contact=...: 'contact' is not a field" in typo.output
    assert "fields of phone-lines-down: contacts, eta, info_url" in typo.output
    assert "--var contacts=...: \"Contact channels that work\" is required" in typo.output
    assert "vaxel (Switchboard)" in typo.output
    choice = runner.invoke(main, ["send", "all-clear", "--yes"])
    assert "takes one of phones (our phone numbers work again)" in choice.output
    shown = runner.invoke(main, ["templates", "show", "update"])
    assert shown.exit_code == 0 and "--var status=...  Status (required)" in shown.output


def test_a_lost_password_can_be_reset_and_status_without_an_id_gives_an_overview(
        app: Flask, env: dict[str, str], demo: Any) -> None:
    from click.testing import CliRunner

    from notifier.cli import main

    runner = CliRunner(env=AS_ADMIN)
    listed = runner.invoke(main, ["users", "list"])
    assert "operator@solvik.example" in listed.output and "operator" in listed.output
    reset = runner.invoke(main, ["users", "password", "operator@solvik.example"],
                          input="a-new-long-password\na-new-long-password\n")
    assert reset.exit_code == 0 and "new password set" in reset.output
    client = app.test_client()
    from ..conftest import AuthActions

    assert AuthActions(client).login("operator@solvik.example",
                                     "a-new-long-password").status_code == 302
    unknown = runner.invoke(main, ["users", "password", "nobody@example.se"],
                            input="a-new-long-password\na-new-long-password\n")
    assert unknown.exit_code == 2 and "notifier users list" in unknown.output

    CliRunner(env={"NOTIFIER_AS": "operator@solvik.example",
                   "NOTIFIER_PASSWORD": "a-new-long-password"}).invoke(
        main, ["send", "phone-lines-down", "--var", "contacts=vaxel", "--yes"])
    overview = runner.invoke(main, ["status"])
    assert "incident 1 open: " in overview.output
    assert re.search(r"notice 1 +phone-lines-down +sending +incident 1 +94 deliveries",
                     overview.output), overview.output


def test_a_finished_drill_closes_its_incident(app: Flask, env: dict[str, str], demo: Any,
                                              worker: Any) -> None:
    from click.testing import CliRunner

    from notifier.cli import main
    from notifier.models import Incident

    worker()
    out = CliRunner(env=AS_OPERATOR).invoke(main, ["send", "phone-lines-down", "--var", "contacts=vaxel",
                                    "--segment", "staff", "--drill", "--yes", "--wait",
                                    "--receipts-timeout", "0"])
    assert out.exit_code == 0, out.output
    from ..conftest import wait_until

    def closed() -> bool:
        with app.app_context():
            return db.session().get(Incident, 1).state == "closed"  # type: ignore[union-attr]
    wait_until(closed, timeout=30, what="the drill's incident to close")


def test_a_script_signs_in_with_a_personal_api_token(app: Flask, env: dict[str, str],
                                                      demo: Any) -> None:
    from notifier import tokens

    with app.app_context(), db.transaction() as s:
        operator = tokens.create(s, "operator@solvik.example", "monitoring script").secret
        viewer = tokens.create(s, "viewer@solvik.example", "dashboard").secret
    args = ("contacts", "set", "kundservice", "down")
    sent = cli(env, *args, account={"NOTIFIER_TOKEN": operator})
    assert sent.returncode == 0 and "kundservice is down" in sent.stdout, sent.stderr
    refused = cli(env, *args, account={"NOTIFIER_TOKEN": viewer})
    assert refused.returncode == 2 and "viewer and may not do this" in refused.stderr
    other = cli(env, *args, account={"NOTIFIER_TOKEN": operator,
                                     "NOTIFIER_AS": "admin@solvik.example"})
    assert other.returncode == 2 and "belongs to operator@solvik.example" in other.stderr
    forged = cli(env, *args, account={"NOTIFIER_TOKEN": "ntf_not-a-real-token"})
    assert forged.returncode == 2 and "NOTIFIER_TOKEN:" in forged.stderr
