"""Message library: spec validation, typed variables, per-channel escaping, sandbox and caps."""
from __future__ import annotations

import copy
import json
from datetime import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifier.errors import NotifierError
from notifier.library import (
    ContactOption,
    RenderedMessage,
    RenderError,
    TemplateError,
    TemplateSpec,
    Values,
    VariablesError,
    content_hash,
    format_phone,
    load_dir,
    load_file,
    parse_spec,
    render,
    render_all,
    spec_to_data,
    validate_values,
)

REGISTRY = {
    "switchboard": ContactOption("switchboard", "phone", {"sv": "Växel", "en": "Switchboard"},
                                 "+4681234567", "up"),
    "service": ContactOption("service", "phone", {"sv": "Kundtjänst", "en": "Customer service"},
                             "+4620123456", "down"),
    "chat": ContactOption("chat", "chat", {"sv": "Chatt", "en": "Chat"},
                          "https://solvik.se/chatt", "up"),
    "email": ContactOption("email", "email", {"sv": "E-post", "en": "Email"},
                           "kundservice@solvik.se", "up"),
    "office": ContactOption("office", "office", {"sv": "Kundcenter", "en": "Customer centre"},
                            "Storgatan 1, Solvik", "unknown"),
}


def variant(text: str = "{{ note }}") -> dict[str, Any]:
    """Return one language's content with the same source in every channel."""
    return {"sms": text, "email": {"subject": "Ämne", "text": text}, "telegram": text,
            "banner": {"headline": "Rubrik", "body": text}}


def make_data(**overrides: Any) -> dict[str, Any]:
    """Return valid template data with every variable type, overridden as given."""
    data: dict[str, Any] = {
        "key": "test-notice", "title": {"sv": "Test", "en": "Test"},
        "description": {"sv": "För tester.", "en": "For tests."},
        "kind": "initial", "severity": "warning",
        "variables": [
            {"name": "note", "type": "text", "label": {"sv": "Notering", "en": "Note"},
             "required": False, "max_length": 40},
            {"name": "phone", "type": "phone", "label": {"sv": "Nummer", "en": "Number"},
             "required": False},
            {"name": "at", "type": "time", "label": {"sv": "Tid", "en": "Time"}, "required": False},
            {"name": "start", "type": "datetime", "label": {"sv": "Start", "en": "Start"},
             "required": False},
            {"name": "link", "type": "url", "label": {"sv": "Länk", "en": "Link"},
             "required": False},
            {"name": "mail", "type": "email", "label": {"sv": "E-post", "en": "Email"},
             "required": False},
            {"name": "level", "type": "choice", "label": {"sv": "Nivå", "en": "Level"},
             "required": False, "options": [
                 {"value": "low", "label": {"sv": "låg", "en": "low"}},
                 {"value": "high", "label": {"sv": "hög", "en": "high"}}]},
            {"name": "contacts", "type": "contacts",
             "label": {"sv": "Kontaktvägar", "en": "Contact channels"}, "required": False},
        ],
        "content": {"sv": variant(), "en": variant()},
    }
    data.update(overrides)
    return data


def make_spec(text: str = "{{ note }}", **overrides: Any) -> TemplateSpec:
    return parse_spec(make_data(content={"sv": variant(text), "en": variant(text)}, **overrides))


def telegram_spec(text: str) -> TemplateSpec:
    """Return a spec whose Telegram variant is text (markup allowed there only)."""
    content = {lang: {**variant(), "telegram": text} for lang in ("sv", "en")}
    return parse_spec(make_data(content=content))


def shown(text: str, raw: dict[str, Any], language: str = "sv", channel: str = "sms") -> str:
    """Render one source with the given raw values."""
    spec = make_spec(text)
    return render(spec, validate_values(spec, raw, REGISTRY), language, channel).text


# --------------------------------------------------------------------------- parse_spec


def test_spec_round_trips_and_hash_is_stable() -> None:
    spec = make_spec()
    assert parse_spec(spec_to_data(spec)) == spec
    via_json = parse_spec(json.loads(json.dumps(spec_to_data(spec))))
    assert content_hash(spec) == content_hash(via_json)
    changed = make_spec("{{ note }}!")
    assert content_hash(changed) != content_hash(spec)


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda d: d["content"].pop("en"), "content.en is missing"),
    (lambda d: d["content"]["sv"].pop("telegram"), "content.sv.telegram is missing"),
    (lambda d: d["content"]["sv"]["email"].pop("subject"), "content.sv.email.subject"),
    (lambda d: d["content"]["en"].update(sms="{{ nope }}"), "content.en.sms uses 'nope'"),
    (lambda d: d["content"]["sv"].update(sms="{% if note %}"), "content.sv.sms, line 1"),
    (lambda d: d["variables"][0].update(type="number"), "type is 'number'"),
    (lambda d: d["variables"][0].update(requried=True), "unknown key 'requried'"),
    (lambda d: d["variables"].append(d["variables"][0]), "declared twice"),
    (lambda d: d["title"].pop("en"), "title has no 'en' text"),
    (lambda d: d.update(kind="urgent"), "kind is 'urgent'"),
    (lambda d: d["variables"][6].update(default="medium"), "default is not valid"),
    (lambda d: d["variables"][6].update(options=[]), "needs a list of options"),
    (lambda d: d["content"]["sv"].update(sms="Hej \u201cdu\u201d \U0001F600"), "outside GSM-7"),
    (lambda d: d["content"]["sv"].update(sms="<b>Hej</b>"), "content.sv.sms contains HTML"),
    (lambda d: d["content"]["sv"]["banner"].update(body="<i>x</i>"), "content.sv.banner.body"),
    (lambda d: d["content"]["en"].update(telegram="<div>x</div>"), "uses <div>"),
    (lambda d: d["content"]["en"].update(telegram="Q&A"), "bare '&'"),
    (lambda d: d["content"]["en"].update(sms="{% include 'x' %}"), "includes or imports"),
    (lambda d: d["content"]["en"].update(sms="{{ note|safe }}"), "filter 'safe'"),
    (lambda d: d["content"]["en"].update(sms="{{ note.__class__ }}"), "'__class__'"),
    (lambda d: d["content"]["en"].update(sms="x" * 5000), "bytes; shorten it"),
])
def test_parse_spec_names_place_and_fix(mutate: Any, expected: str) -> None:
    data = copy.deepcopy(make_data())
    mutate(data)
    with pytest.raises(TemplateError) as caught:
        parse_spec(data, "templates/test-notice.yaml")
    assert expected in str(caught.value)
    assert "templates/test-notice.yaml" in str(caught.value)
    assert isinstance(caught.value, NotifierError)


def test_load_file_checks_name_and_yaml(tmp_path: Path) -> None:
    import yaml
    good = tmp_path / "test-notice.yaml"
    good.write_text(yaml.safe_dump(make_data(), allow_unicode=True), encoding="utf-8")
    assert load_file(good).key == "test-notice"
    wrong = tmp_path / "other.yaml"
    wrong.write_text(good.read_text(encoding="utf-8"), encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text("key: [unclosed\n", encoding="utf-8")
    with pytest.raises(TemplateError) as caught:
        load_dir(tmp_path)
    assert len(caught.value.problems) == 2
    assert "rename the file to test-notice.yaml" in str(caught.value)
    assert "broken.yaml: is not valid YAML at line" in str(caught.value)


# --------------------------------------------------------------------------- variables


@pytest.mark.parametrize(("raw", "sv", "en"), [
    ("08-123 45 67", "08-123 45 67", "+46 8 123 45 67"),
    ("+46 20 12 34 56", "020-12 34 56", "+46 20 12 34 56"),
    ("0771123456", "0771-12 34 56", "+46 771 12 34 56"),
    ("0046701234567", "070-123 45 67", "+46 70 123 45 67"),
])
def test_phone_is_stored_e164_and_shown_per_language(raw: str, sv: str, en: str) -> None:
    spec = make_spec()
    values = validate_values(spec, {"phone": raw}, REGISTRY)
    assert str(values.items["phone"]).startswith("+46")
    e164 = values.items["phone"]
    assert shown("{{ phone }} {{ phone.href }}", {"phone": raw}) == f"{sv} tel:{e164}"
    assert shown("{{ phone }}", {"phone": raw}, "en") == en


@pytest.mark.parametrize(("raw", "sv", "en"), [
    ("13:00", "kl. 13.00", "1:00 pm"), ("9.05", "kl. 09.05", "9:05 am"),
    ("00:30", "kl. 00.30", "12:30 am"), ("12:00", "kl. 12.00", "12:00 pm"),
])
def test_time_is_shown_per_language(raw: str, sv: str, en: str) -> None:
    assert shown("{{ at }}", {"at": raw}) == sv
    assert shown("{{ at }}", {"at": raw}, "en") == en


def test_datetime_is_stockholm_time_per_language() -> None:
    raw = {"start": "2026-12-06 02:00"}
    assert shown("{{ start }}", raw) == "söndag 6 december kl. 02.00"
    assert shown("{{ start }}", raw, "en") == "Sunday 6 December at 2:00 am"
    assert shown("{{ start.date }}|{{ start.time }}", raw) == "söndag 6 december|kl. 02.00"
    # An ISO time in UTC is shown in Swedish time (summer: UTC+2).
    assert shown("{{ start }}", {"start": "2026-06-19T10:00:00Z"}) == "fredag 19 juni kl. 12.00"


def test_values_round_trip_through_raw() -> None:
    spec = make_spec()
    raw = {"note": "Hej", "phone": "08-123 45 67", "at": "13:00", "start": "2026-12-06 02:00",
           "link": "https://solvik.se/drift", "mail": "Kundservice@Solvik.se", "level": "high",
           "contacts": ["switchboard", "chat"]}
    values = validate_values(spec, raw, REGISTRY)
    assert values.items["at"] == time(13, 0)
    again = validate_values(spec, values.to_raw(), REGISTRY)
    assert again == values


@pytest.mark.parametrize(("raw", "name", "fragment"), [
    ({"note": "x" * 41}, "note", '"Note": is 41 characters; shorten it to at most 40'),
    ({"phone": "12345"}, "phone", '"Number": \'12345\' is not a valid phone number'),
    ({"at": "25:00"}, "at", '"Time": \'25:00\' is not a time; write it as HH:MM'),
    ({"start": "6/12 kl 2"}, "start", "write it as YYYY-MM-DD HH:MM"),
    ({"start": "2026-03-29 02:30"}, "start", "clocks go forward"),
    ({"link": "http://solvik.se"}, "link", "must start with https://"),
    ({"link": "https://"}, "link", "not a complete web address"),
    ({"mail": "kundservice@"}, "mail", "not a valid email address"),
    ({"level": "medium"}, "level", "pick one of low, high"),
    ({"contacts": ["service"]}, "contacts", "Customer service (service) is marked down"),
    ({"contacts": ["office"]}, "contacts", "of unknown state"),
    ({"contacts": ["fax"]}, "contacts", "'fax' is not in the contact registry"),
    ({"unknown": "x"}, "unknown", "is not a field of the template"),
])
def test_invalid_values_name_the_variable(raw: dict[str, Any], name: str, fragment: str) -> None:
    with pytest.raises(VariablesError) as caught:
        validate_values(make_spec(), raw, REGISTRY)
    assert fragment in caught.value.errors[name]


def test_all_problems_are_collected_and_required_is_enforced() -> None:
    data = make_data()
    data["variables"][0]["required"] = True
    spec = parse_spec(data)
    with pytest.raises(VariablesError) as caught:
        validate_values(spec, {"phone": "1", "at": "x"}, REGISTRY)
    assert set(caught.value.errors) == {"note", "phone", "at"}
    assert caught.value.errors["note"] == '"Note" is required; fill it in.'


def test_optional_values_render_through_if_and_defaults_apply() -> None:
    assert shown("A{% if note %} {{ note }}{% endif %}.", {}) == "A."
    assert shown("[{{ note }}]", {}) == "[]"
    data = make_data()
    data["variables"][6]["default"] = "low"
    spec = parse_spec(data)
    assert validate_values(spec, {}, REGISTRY).items["level"] == "low"


def test_choice_shows_label_and_keeps_key() -> None:
    assert shown("{{ level }}/{{ level.key }}", {"level": "high"}) == "hög/high"
    assert shown("{{ level }}", {"level": "high"}, "en") == "high"


def test_contacts_render_with_label_value_and_href() -> None:
    source = ("{% for c in contacts %}"
              "{{ c.label }}={{ c.value }}={{ c.href }}={{ c.kind }};{% endfor %}")
    raw = {"contacts": "switchboard, chat, email"}
    assert shown(source, raw) == (
        "Växel=08-123 45 67=tel:+4681234567=phone;"
        "Chatt=https://solvik.se/chatt=https://solvik.se/chatt=chat;"
        "E-post=kundservice@solvik.se=mailto:kundservice@solvik.se=email;")
    assert shown("{{ contacts|first }}", raw, "en") == "Switchboard: +46 8 123 45 67"


def test_format_phone_of_foreign_number_is_international() -> None:
    assert format_phone("+4791234567", "sv") == "+47 91 23 45 67"


# --------------------------------------------------------------------------- escaping


EVIL = '<script>alert("x")</script> & Co'


def test_sms_and_banner_are_plain_text() -> None:
    assert shown("{{ note }}", {"note": EVIL}) == EVIL
    assert shown("{{ note }}", {"note": EVIL}, channel="banner") == EVIL


def test_telegram_escapes_values_but_keeps_template_tags() -> None:
    spec = telegram_spec("<b>{{ note }}</b>")
    text = render(spec, validate_values(spec, {"note": EVIL}, REGISTRY), "sv", "telegram").text
    assert text.startswith("<b>&lt;script&gt;")
    assert "&amp; Co</b>" in text


def test_email_html_escapes_everything_and_links_https() -> None:
    spec = make_spec("Hej {{ note }}\n\nSe {{ link }}.")
    values = validate_values(spec, {"note": EVIL, "link": "https://solvik.se/a?b=1&c=2"}, REGISTRY)
    message = render(spec, values, "sv", "email")
    assert message.text == f"Hej {EVIL}\n\nSe https://solvik.se/a?b=1&c=2."
    assert message.html is not None
    assert "<script>" not in message.html and "&lt;script&gt;" in message.html
    assert '<a href="https://solvik.se/a?b=1&amp;c=2"' in message.html
    assert '<html lang="sv">' in message.html and "Solvik Energi AB" in message.html


def test_telegram_output_outside_subset_is_refused() -> None:
    spec = telegram_spec('<a href="{{ link }}">x</a>')
    values = validate_values(spec, {"link": "https://solvik.se"}, REGISTRY)
    assert render(spec, values, "en", "telegram").text == '<a href="https://solvik.se">x</a>'
    bad = telegram_spec('<a href="javascript:alert(1)">x</a>')
    with pytest.raises(RenderError, match="attributes Telegram refuses"):
        render(bad, validate_values(bad, {}, REGISTRY), "en", "telegram")


# --------------------------------------------------------------------------- sandbox


def unchecked_spec(source: str) -> TemplateSpec:
    """Build a spec that skipped parse_spec's checks, to prove the sandbox holds on its own."""
    spec = make_spec()
    data = spec_to_data(spec)
    data["content"]["sv"]["sms"] = source
    content = dict(spec.content)
    content["sv"] = type(spec.content["sv"])(**{**spec.content["sv"].__dict__, "sms": source})
    return TemplateSpec(spec.key, spec.title, spec.description, spec.kind, spec.severity,
                        spec.variables, content)


@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ note.__class__.__mro__ }}",
    "{{ note|attr('__class__') }}",
    "{{ (note|attr('__class__')).__mro__ }}",
    "{{ '{0.__class__.__mro__}'.format(note) }}",
    "{{ '{0.__class__}'.format_map({'0': note}) }}",
    "{{ contacts.append(1) }}",
    "{{ 10 ** 100000 }}",
    "{{ 'x' * 100000000 }}",
    "{{ cycler }}{{ range(10) }}",
])
def test_sandbox_refuses_escapes(source: str) -> None:
    spec = unchecked_spec(source)
    values = validate_values(spec, {"note": "Hej", "contacts": ["chat"]}, REGISTRY)
    with pytest.raises(RenderError):
        render(spec, values, "sv", "sms")


# --------------------------------------------------------------------------- caps, drills, warnings


def test_output_caps_raise_clear_errors() -> None:
    spec = make_spec("{% for c in contacts %}{{ note }}{{ note }}{% endfor %}" * 10)
    contacts = {f"c{i}": ContactOption(f"c{i}", "office", {"sv": "K", "en": "K"}, "x", "up")
                for i in range(20)}
    values = validate_values(spec, {"note": "x" * 40, "contacts": list(contacts)}, contacts)
    with pytest.raises(RenderError, match=r"sv.sms: the text is \d+ characters, more than 1000"):
        render(spec, values, "sv", "sms")
    with pytest.raises(RenderError, match="banner.body"):
        render(spec, values, "sv", "banner")


def test_drill_prefixes_every_channel() -> None:
    spec = make_spec("Hej")
    values = validate_values(spec, {}, REGISTRY)
    sv = render_all(spec, values, drill=True)["sv"]
    assert sv["sms"].text == "ÖVNING: Hej"
    assert sv["email"].subject == "ÖVNING: Ämne" and sv["email"].text.startswith("ÖVNING: ")
    assert sv["telegram"].text == "ÖVNING: Hej"
    assert sv["banner"].headline == "ÖVNING: Rubrik" and sv["banner"].drill
    assert render(spec, values, "en", "sms", drill=True).text == "DRILL: Hej"


def test_preview_warnings() -> None:
    long_sms = shown("{{ note }}" * 9, {"note": "x" * 40})
    assert len(long_sms) == 360
    spec = make_spec("{{ note }}" * 9)
    values = validate_values(spec, {"note": "x" * 40}, REGISTRY)
    assert "3 segments" in render(spec, values, "sv", "sms").warnings[0]
    values = validate_values(spec, {"note": "Hej \u00e7a va"}, REGISTRY)
    assert any("UCS-2" in w for w in render(spec, values, "sv", "sms").warnings)
    spec = make_spec("Läs på {{ note }}", title={"sv": "T", "en": "T"})
    values = validate_values(spec, {"note": "http://solvik.se"}, REGISTRY)
    assert "not https" in render(spec, values, "sv", "email").warnings[0]
    data = make_data()
    data["content"]["sv"]["banner"]["headline"] = "R" * 90
    spec = parse_spec(data)
    assert "headline is 90 characters" in render(spec, validate_values(spec, {}, REGISTRY),
                                                  "sv", "banner").warnings[0]


def test_sms_is_made_gsm_safe() -> None:
    assert shown("{{ note }}", {"note": "\u201dVi\u2019r ig\u00e5ng\u201d \u2013 snart\u2026"}) == \
        '"Vi\'r igång" - snart...'


def test_rendered_message_round_trips_through_json() -> None:
    spec = make_spec("Hej {{ note }}")
    values = validate_values(spec, {"note": "du"}, REGISTRY)
    for channels in render_all(spec, values, drill=True).values():
        for message in channels.values():
            again = RenderedMessage.from_dict(json.loads(json.dumps(message.to_dict())))
            assert again == message


# --------------------------------------------------------------------------- properties

fragment = st.sampled_from([
    "{{ note }}", "{{ note|upper }}", "{{ phone }}", "{{ at }}", "{{ start.date }}",
    "{% if level %}{{ level }}{% endif %}", "{% for c in contacts %}{{ c }}{% endfor %}",
    "{{ note[0] }}", "{{ note|int }}", "{{ 1 / note|length }}", "{{ note.missing }}",
    "{{", "}}", "{%", "<b>", "</b>", "&", "Hej ", "å", "\n", "{{ x }}", "{{ note ~ at }}",
])
raw_values = st.fixed_dictionaries({}, optional={
    "note": st.text(max_size=60), "phone": st.text(max_size=20), "at": st.text(max_size=8),
    "start": st.text(max_size=20), "level": st.sampled_from(["low", "high", "mid", ""]),
    "contacts": st.lists(st.sampled_from(sorted(REGISTRY) + ["nope"]), max_size=3),
})


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(fragment, max_size=8).map("".join), raw_values,
       st.sampled_from(["sv", "en"]), st.sampled_from(["sms", "email", "telegram", "banner"]))
def test_rendering_raises_only_library_errors(source: str, raw: dict[str, Any], language: str,
                                              channel: str) -> None:
    try:
        spec = make_spec(source or "x")
        values = validate_values(spec, raw, REGISTRY)
        message = render(spec, values, language, channel)
    except (TemplateError, VariablesError, RenderError):
        return
    assert isinstance(message, RenderedMessage)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=40))
def test_any_text_value_renders_escaped(note: str) -> None:
    spec = telegram_spec("<i>{{ note }}</i>")
    try:
        values = validate_values(spec, {"note": note}, REGISTRY)
    except VariablesError:
        return
    text = render(spec, values, "en", "telegram").text
    inner = text[len("<i>"):-len("</i>")] if text.endswith("</i>") else text
    assert "<" not in inner and ">" not in inner


def test_values_type_is_exported() -> None:
    assert Values({}).to_raw() == {}
