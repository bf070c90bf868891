"""Every file in templates/ loads, renders in every language and channel, and fits an SMS budget."""
from __future__ import annotations

from pathlib import Path

import pytest

from notifier.channels import DELIVERY_CHANNELS
from notifier.library import (
    LANGUAGES,
    ContactOption,
    TemplateSpec,
    Values,
    content_hash,
    load_dir,
    load_file,
    parse_spec,
    render_all,
    spec_to_data,
    validate_values,
)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
FILES = sorted(TEMPLATES.glob("*.yaml"))
SCENARIOS = {"phone-lines-down", "partial-outage", "long-queues", "channel-down",
             "planned-maintenance", "update", "all-clear"}

REGISTRY = {
    "switchboard": ContactOption("switchboard", "phone", {"sv": "Växel", "en": "Switchboard"},
                                 "+4681234567", "up"),
    "chat": ContactOption("chat", "chat", {"sv": "Chatt", "en": "Chat"},
                          "https://solvik.se/chatt", "up"),
    "email": ContactOption("email", "email", {"sv": "E-post", "en": "Email"},
                           "kundservice@solvik.se", "up"),
    "callback": ContactOption("callback", "webform", {"sv": "Ring mig", "en": "Call me back"},
                              "https://solvik.se/ring-mig", "up"),
}

# Realistic values an operator would type for each variable name used in the library.
TYPICAL: dict[str, str | list[str]] = {
    "contacts": ["switchboard", "chat", "email"],
    "recommended": ["callback"],
    "eta": "13:00",
    "info_url": "https://solvik.se/drift",
    "region": "Västra Götaland",
    "start": "2026-12-06 02:00",
    "end": "2026-12-06 05:00",
}


def typical_values(spec: TemplateSpec, every_optional: bool = True) -> Values:
    """Fill every variable (optional ones too, unless told not to) with a realistic value."""
    raw: dict[str, str | list[str]] = {}
    for variable in spec.variables:
        if not variable.required and not every_optional:
            continue
        if variable.type == "choice":
            raw[variable.name] = variable.options[0].value
        else:
            raw[variable.name] = TYPICAL[variable.name]
    return validate_values(spec, raw, REGISTRY)


def test_every_scenario_has_a_file() -> None:
    assert {path.stem for path in FILES} == SCENARIOS
    assert {spec.key for spec in load_dir(TEMPLATES)} == SCENARIOS


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_file_round_trips_and_hashes_stably(path: Path) -> None:
    spec = load_file(path)
    again = parse_spec(spec_to_data(spec), str(path))
    assert again == spec
    assert content_hash(again) == content_hash(spec)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
@pytest.mark.parametrize("every_optional", [True, False], ids=["all-fields", "required-only"])
@pytest.mark.parametrize("drill", [False, True], ids=["live", "drill"])
def test_file_renders_everywhere_within_budget(path: Path, every_optional: bool,
                                               drill: bool) -> None:
    spec = load_file(path)
    rendered = render_all(spec, typical_values(spec, every_optional), drill=drill)
    assert set(rendered) == set(LANGUAGES)
    for language, channels in rendered.items():
        assert set(channels) == set(DELIVERY_CHANNELS)
        for channel, message in channels.items():
            assert message.text.strip(), (language, channel)
            assert "None" not in message.text and "{" not in message.text
            assert not message.warnings, (language, channel, message.warnings)
        sms = channels["sms"].sms
        assert sms is not None
        assert sms.encoding == "GSM-7", (language, channels["sms"].text)
        assert sms.segments <= 2, (language, sms, channels["sms"].text)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_choices_all_render(path: Path) -> None:
    spec = load_file(path)
    base = typical_values(spec).to_raw()
    for variable in spec.variables:
        for option in variable.options:
            values = validate_values(spec, {**base, variable.name: option.value}, REGISTRY)
            for channels in render_all(spec, values).values():
                sms = channels["sms"].sms
                assert sms is not None and sms.encoding == "GSM-7" and sms.segments <= 2


def test_swedish_text_reads_swedish() -> None:
    spec = load_file(TEMPLATES / "planned-maintenance.yaml")
    values = typical_values(spec)
    sms = render_all(spec, values)["sv"]["sms"].text
    assert "söndag 6 december kl. 02.00 till kl. 05.00" in sms
    en = render_all(spec, values)["en"]["sms"].text
    assert "Sunday 6 December at 2:00 am to 5:00 am" in en
