"""Settings from the environment: the provider precedence of the README, refusals, the secret."""
from __future__ import annotations

import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from notifier import config, create_app
from notifier.cli import main
from notifier.errors import NotifierError

URL = "https://edge.example:8443"
SANDBOX_URL = f"http://127.0.0.1:{config.DEFAULT_SANDBOX_PORT}"
# The credentials a deployment sets per provider, and what the adapters read them as.
CREDENTIALS = {
    "twilio": {"NOTIFIER_TWILIO_ACCOUNT_SID": ("account_sid", "AC" + "1" * 32),
               "NOTIFIER_TWILIO_AUTH_TOKEN": ("auth_token", "real-token"),
               "NOTIFIER_TWILIO_FROM": ("sender", "Solvik")},
    "sendgrid": {"NOTIFIER_SENDGRID_API_KEY": ("api_key", "SG.real.key"),
                 "NOTIFIER_SENDGRID_FROM": ("sender", "kundservice@solvik.example")},
    "telegram": {"NOTIFIER_TELEGRAM_BOT_TOKEN": ("token", "42:real-bot-token")},
}
PROVIDERS = sorted(CREDENTIALS)


def _environ(name: str, url: bool, credentials: bool) -> dict[str, str]:
    environ = {f"NOTIFIER_{name.upper()}_API_URL": URL} if url else {}
    if credentials:
        environ.update({var: value for var, (_, value) in CREDENTIALS[name].items()})
    return environ


def _given(name: str) -> dict[str, str]:
    return {key: value for key, value in CREDENTIALS[name].values()}


@pytest.mark.parametrize("name", PROVIDERS)
def test_url_and_credentials_send_to_that_url_with_those_credentials(name: str) -> None:
    chosen = config.provider_settings(_environ(name, url=True, credentials=True))[name]
    assert (chosen.api_url, chosen.sandbox) == (URL, False)
    assert _given(name).items() <= dict(chosen.credentials).items()
    assert chosen.describe() == f"{name} at {URL}"


@pytest.mark.parametrize("name", PROVIDERS)
def test_url_without_credentials_sends_to_that_url_with_the_sandbox_dummies(name: str) -> None:
    chosen = config.provider_settings(_environ(name, url=True, credentials=False))[name]
    assert (chosen.api_url, chosen.sandbox) == (URL, True)
    assert dict(chosen.credentials) == config.SANDBOX_CREDENTIALS[name]
    assert chosen.describe() == f"sandbox simulator at {URL}"


@pytest.mark.parametrize("name", PROVIDERS)
def test_credentials_without_url_send_to_the_real_provider(name: str) -> None:
    chosen = config.provider_settings(_environ(name, url=False, credentials=True))[name]
    assert (chosen.api_url, chosen.sandbox) == (None, False)
    assert _given(name).items() <= dict(chosen.credentials).items()
    assert chosen.describe() == f"{name} at the real API"


@pytest.mark.parametrize("name", PROVIDERS)
def test_neither_url_nor_credentials_sends_to_the_builtin_sandbox(name: str) -> None:
    chosen = config.provider_settings({})[name]
    assert (chosen.api_url, chosen.sandbox) == (SANDBOX_URL, True)
    moved = config.provider_settings({"NOTIFIER_SANDBOX_PORT": "9025"})[name]
    assert moved.api_url == "http://127.0.0.1:9025"


def test_each_provider_is_chosen_on_its_own() -> None:
    settings = config.load(_environ("telegram", url=False, credentials=True))
    providers = settings["PROVIDERS"]
    assert [providers[n].sandbox for n in PROVIDERS] == [True, False, True]
    assert settings["SANDBOX"] is False  # one real provider: no demo, no sandbox strip
    assert config.load({})["SANDBOX"] is True


@pytest.mark.parametrize("name", PROVIDERS)
def test_an_api_url_with_a_path_is_refused_with_a_clear_message(name: str) -> None:
    variable = f"NOTIFIER_{name.upper()}_API_URL"
    with pytest.raises(NotifierError) as exc:
        config.provider_settings({variable: "https://api.example.com/2010-04-01"})
    assert str(exc.value) == (f"{variable} must be a root URL like https://host:port without a "
                              "path, got 'https://api.example.com/2010-04-01'")


@pytest.mark.parametrize("url", ["api.twilio.com", "api.twilio.com:443"])
def test_an_api_url_without_a_scheme_is_refused_with_a_clear_message(url: str) -> None:
    with pytest.raises(NotifierError, match="NOTIFIER_TWILIO_API_URL must be a root URL"):
        config.provider_settings({"NOTIFIER_TWILIO_API_URL": url})


def test_a_trailing_slash_on_the_api_url_is_not_a_path() -> None:
    chosen = config.provider_settings({"NOTIFIER_SENDGRID_API_URL": "http://127.0.0.1:8025/"})
    assert chosen["sendgrid"].api_url == "http://127.0.0.1:8025"


@pytest.mark.parametrize("variable", ["NOTIFIER_SMS_RATE", "NOTIFIER_EMAIL_RATE",
                                      "NOTIFIER_TELEGRAM_RATE"])
@pytest.mark.parametrize(("raw", "problem"), [
    ("ten", "must be a number, got 'ten'"),
    ("10/s", "must be a number, got '10/s'"),
    ("0", "must be greater than 0, got '0'"),
    ("-5", "must be greater than 0, got '-5'"),
])
def test_a_rate_that_is_not_a_positive_number_is_refused(variable: str, raw: str,
                                                         problem: str) -> None:
    with pytest.raises(NotifierError) as exc:
        config.load({variable: raw})
    assert str(exc.value) == f"{variable} {problem}"


@pytest.mark.parametrize("raw", ["nan", "inf"])
def test_a_rate_that_is_not_a_finite_number_is_refused(raw: str) -> None:
    with pytest.raises(NotifierError, match="NOTIFIER_SMS_RATE"):
        config.load({"NOTIFIER_SMS_RATE": raw})


def test_a_port_that_is_not_a_number_is_refused_with_a_clear_message() -> None:
    with pytest.raises(NotifierError, match="NOTIFIER_PORT"):
        config.load({"NOTIFIER_PORT": "http"})


def test_rates_are_read_as_numbers() -> None:
    rates = config.load({"NOTIFIER_SMS_RATE": " 2.5 ", "NOTIFIER_EMAIL_RATE": "50"})["RATES"]
    assert rates == {"sms": 2.5, "email": 50.0, "telegram": 25.0}


def test_a_bad_setting_stops_a_command_with_a_one_line_error(
        env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFIER_SMS_RATE", "fast")
    result = CliRunner().invoke(main, ["contacts", "list"])
    assert result.exit_code == 2
    assert result.stderr == "error: NOTIFIER_SMS_RATE must be a number, got 'fast'\n"


def test_the_secret_key_is_required_when_a_real_provider_is_configured(
        env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFIER_SECRET_KEY")
    monkeypatch.setenv("NOTIFIER_TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    monkeypatch.setenv("NOTIFIER_TWILIO_AUTH_TOKEN", "real-token")
    with pytest.raises(NotifierError, match="NOTIFIER_SECRET_KEY is required when real providers "
                                            "are configured: set it to a long random string"):
        create_app()


def test_the_sandbox_demo_keeps_one_random_secret_key_in_its_instance_folder(
        env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFIER_SECRET_KEY")
    first = create_app()
    second = create_app()  # a restart keeps the sessions valid
    key = first.config["SECRET_KEY"]
    assert len(key) == 64 and key == second.config["SECRET_KEY"]
    path = Path(env["NOTIFIER_INSTANCE_DIR"]) / "secret_key"
    assert path.read_text() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for app in (first, second):
        app.extensions["notifier.engine"].dispose()


def test_the_readme_documents_every_setting_with_its_default() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for name, (default, _description) in config.SETTINGS.items():
        assert f"| `{name}` | {default or '(empty)'} |" in readme, f"{name} is not in the README table"
