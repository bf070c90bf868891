"""banner.js in a real browser: what a visitor of the host page sees and what never happens."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Locator, Page, expect

from .conftest import BANNER_JS, HOST_MAIN, LAX_CSP, STRICT_CSP, Problems, Site

pytestmark = pytest.mark.browser

HOST = "[data-notifier-banner]"
CARD = f"{HOST} .b"


def make_banner(**overrides: Any) -> dict[str, Any]:
    """A critical outage banner in Swedish and English with three contact links."""
    banner: dict[str, Any] = {
        "id": "notice-12",
        "incident_id": 7,
        "version": "3f2a9c1e",
        "severity": "critical",
        "starts_at": None,
        "ends_at": None,
        "resolved": False,
        "text": {
            "sv": {
                "headline": "Våra telefonnummer fungerar inte",
                "body": "Ring växeln eller chatta.",
            },
            "en": {"headline": "Our phone lines are down", "body": "Call the switchboard or chat."},
        },
        "links": [
            {
                "kind": "phone",
                "href": "tel:+4687654321",
                "label": {"sv": "Växel 08-765 43 21", "en": "Switchboard +46 8 765 43 21"},
            },
            {
                "kind": "chat",
                "href": "https://www.example.se/chatt",
                "label": {"sv": "Chatta med oss", "en": "Chat with us"},
            },
            {
                "kind": "email",
                "href": "mailto:kundservice@example.se",
                "label": {"sv": "Mejla kundservice", "en": "Email customer service"},
            },
        ],
    }
    banner.update(overrides)
    return banner


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat().replace("+00:00", "Z")


def settle(page: Page) -> None:
    """Wait until banner.js has fetched and drawn (or given up) once more."""
    page.evaluate("NotifierBanner.refresh()")


def freeze_clock(page: Page) -> None:
    """Fake the page's timers and stop its time, so only fast_forward moves it."""
    page.clock.install()
    page.clock.pause_at(datetime.now(UTC) + timedelta(seconds=1))


def wait_until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def links(page: Page) -> list[tuple[str, str | None]]:
    anchors = page.locator(f"{CARD} a")
    return [(a.inner_text(), a.get_attribute("href")) for a in anchors.all()]


def assert_untouched(page: Page) -> None:
    """The host page is exactly as served: no banner host, nothing added."""
    assert page.locator(HOST).count() == 0
    assert page.evaluate("document.body.innerHTML") == HOST_MAIN
    assert page.evaluate("document.head.children.length") == 3


def dismiss_button(page: Page) -> Locator:
    return page.locator(f"{CARD} button")


# --- what visitors see -------------------------------------------------------------


@pytest.mark.parametrize(
    ("page_lang", "shown"),
    [("sv-SE", "sv"), ("en", "en"), ("en-GB", "en"), ("de", "sv")],
)
def test_banner_shows_in_the_page_language(
    site: Site, page: Page, page_lang: str, shown: str
) -> None:
    banner = make_banner()
    site.publish(banner)
    page.goto(site.page(lang=page_lang))
    text = banner["text"][shown]
    expect(page.locator(f"{CARD} .h")).to_have_text(text["headline"])
    expect(page.locator(f"{CARD} .t")).to_have_text(text["body"])
    assert links(page) == [(link["label"][shown], link["href"]) for link in banner["links"]]
    assert page.locator(CARD).get_attribute("lang") == shown
    close = {"sv": "Stäng meddelandet", "en": "Dismiss message"}[shown]
    expect(dismiss_button(page)).to_have_accessible_name(close)


def test_banner_is_inserted_first_in_body(site: Site, page: Page) -> None:
    site.publish(make_banner())
    page.goto(site.page())
    expect(page.locator(CARD)).to_be_visible()
    assert page.evaluate("document.body.firstElementChild.hasAttribute('data-notifier-banner')")


def test_data_lang_overrides_the_page_language(site: Site, page: Page) -> None:
    site.publish(make_banner())
    page.goto(site.page(lang="sv", attrs={"lang": "en"}))
    expect(page.locator(f"{CARD} .h")).to_have_text("Our phone lines are down")


def test_falls_back_to_any_language_the_banner_has(site: Site, page: Page) -> None:
    site.publish(make_banner(text={"en": {"headline": "English only", "body": ""}}))
    page.goto(site.page(lang="sv"))
    expect(page.locator(f"{CARD} .h")).to_have_text("English only")
    assert page.locator(f"{CARD} .t").count() == 0
    expect(dismiss_button(page)).to_have_accessible_name("Dismiss message")


def test_data_target_and_data_src_are_honoured(site: Site, page: Page) -> None:
    site.publish(
        make_banner(text={"sv": {"headline": "Från annan källa", "body": "x"}}),
        path="/feeds/alt.json",
    )
    main = '<main id="content"><h1>Host page</h1><div id="slot"></div></main>'
    page.goto(site.page(main=main, attrs={"target": "slot", "src": "/feeds/alt.json"}))
    expect(page.locator(f"#slot > {HOST} .h")).to_have_text("Från annan källa")
    assert site.json.hits == 0


def sri(body: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()


def test_cross_origin_embed_with_integrity(site: Site, page: Page) -> None:
    notifier = site.base.replace("127.0.0.1", "localhost")  # another origin, same server
    csp = STRICT_CSP.replace("'self'", f"'self' {notifier}")
    script = (
        f'{notifier}/banner.js" integrity="{sri(BANNER_JS.read_bytes())}" crossorigin="anonymous'
    )
    site.publish(make_banner())
    page.goto(site.page(csp=csp, script=script))
    expect(page.locator(f"{CARD} .h")).to_have_text("Våra telefonnummer fungerar inte")
    assert site.json.hits >= 1


def test_a_wrong_integrity_hash_leaves_the_page_untouched(
    site: Site, page: Page, problems: Problems
) -> None:
    problems.allow.append("Failed to find a valid digest in the 'integrity' attribute")
    site.publish(make_banner())
    script = f'/banner.js" integrity="{sri(b"another build")}" crossorigin="anonymous'
    page.goto(site.page(script=script))
    wait_until(lambda: bool(problems.expected))
    assert_untouched(page)
    assert site.json.hits == 0


def test_role_is_alert_only_for_a_critical_banner(site: Site, page: Page) -> None:
    site.publish(
        make_banner(id="c"),
        make_banner(id="w", severity="warning"),
        make_banner(id="i", severity="info"),
        make_banner(id="r", resolved=True),
    )
    page.goto(site.page())
    cards = page.locator(CARD)
    expect(cards).to_have_count(4)
    roles = [card.get_attribute("role") for card in cards.all()]
    classes = [card.get_attribute("class") for card in cards.all()]
    assert list(zip(classes, roles, strict=True)) == [
        ("b critical", "alert"),
        ("b warning", "status"),
        ("b info", "status"),
        ("b resolved", "status"),
    ]


def test_styles_apply_under_a_strict_csp(site: Site, page: Page) -> None:
    site.publish(make_banner())
    page.goto(site.page(csp=STRICT_CSP))
    card = page.locator(CARD)
    expect(card).to_have_css("background-color", "rgb(139, 0, 0)")
    expect(card).to_have_css("color", "rgb(255, 255, 255)")


@pytest.mark.parametrize(("motion", "animation"), [("reduce", "none"), ("no-preference", "nb-in")])
def test_motion_follows_the_visitor_preference(
    site: Site, page: Page, motion: str, animation: str
) -> None:
    page.emulate_media(reduced_motion=motion)  # type: ignore[arg-type]
    site.publish(make_banner())
    page.goto(site.page())
    expect(page.locator(CARD)).to_have_css("animation-name", animation)


def test_banners_outside_their_display_window_are_hidden(site: Site, page: Page) -> None:
    site.publish(
        make_banner(
            id="past",
            ends_at=iso(-timedelta(minutes=5)),
            text={"sv": {"headline": "Över", "body": ""}},
        ),
        make_banner(
            id="future",
            starts_at=iso(timedelta(minutes=30)),
            text={"sv": {"headline": "Planerat", "body": ""}},
        ),
        make_banner(
            id="now",
            severity="info",
            starts_at=iso(-timedelta(minutes=5)),
            ends_at=iso(timedelta(minutes=5)),
            text={"sv": {"headline": "Pågår", "body": ""}},
        ),
        make_banner(
            id="bad-time", starts_at="soon", text={"sv": {"headline": "Trasig", "body": ""}}
        ),
    )
    page.goto(site.page())
    expect(page.locator(f"{CARD} .h")).to_have_text(["Pågår"])


def test_a_planned_banner_appears_when_its_window_opens(site: Site, page: Page) -> None:
    freeze_clock(page)
    site.publish(make_banner(starts_at=iso(timedelta(seconds=30))))
    page.goto(site.page())
    settle(page)
    assert page.locator(HOST).count() == 0
    page.clock.fast_forward(60_000)
    expect(page.locator(CARD)).to_be_visible()


def test_invalid_banners_are_skipped_and_valid_ones_shown(site: Site, page: Page) -> None:
    site.publish(
        make_banner(id="a", severity="panic"),
        make_banner(id="b", text="not an object"),
        make_banner(id="c", version=4),
        make_banner(id="", severity="info"),
        "a string",  # type: ignore[arg-type]
        make_banner(
            id="ok",
            severity="warning",
            links="nope",
            text={"sv": {"headline": "Giltig", "body": ""}},
        ),
    )
    page.goto(site.page())
    expect(page.locator(f"{CARD} .h")).to_have_text(["Giltig"])
    assert links(page) == []


def test_several_banners_show_most_severe_first(site: Site, page: Page) -> None:
    site.publish(
        make_banner(id="i", severity="info", text={"sv": {"headline": "Info", "body": ""}}),
        make_banner(id="r", resolved=True, text={"sv": {"headline": "Åtgärdat", "body": ""}}),
        make_banner(id="c", text={"sv": {"headline": "Kritiskt", "body": ""}}),
        make_banner(id="w", severity="warning", text={"sv": {"headline": "Varning", "body": ""}}),
    )
    page.goto(site.page())
    expect(page.locator(f"{CARD} .h")).to_have_text(["Kritiskt", "Varning", "Info", "Åtgärdat"])


@pytest.fixture
def http_errors_expected(problems: Problems) -> Problems:
    """Chromium logs every 4xx/5xx response itself; no script can or should hide that."""
    problems.allow.append("Failed to load resource: the server responded with a status of")
    return problems


# --- changes without reload ----------------------------------------------------------


def test_updates_and_removal_show_without_reload(site: Site, page: Page) -> None:
    freeze_clock(page)
    site.publish(make_banner())
    page.goto(site.page(attrs={"interval": "5"}))
    expect(page.locator(f"{CARD} .h")).to_have_text("Våra telefonnummer fungerar inte")

    site.publish(make_banner(version="v2", text={"sv": {"headline": "Uppdatering", "body": "Nu"}}))
    page.clock.fast_forward(5_000)
    expect(page.locator(f"{CARD} .h")).to_have_text("Uppdatering")

    site.publish()
    page.clock.fast_forward(5_000)
    expect(page.locator(HOST)).to_have_count(0)
    assert page.evaluate("document.body.innerHTML") == HOST_MAIN


def test_polls_every_minute_by_default(site: Site, page: Page) -> None:
    freeze_clock(page)
    page.goto(site.page())
    settle(page)
    hits = site.json.hits
    page.clock.fast_forward(59_000)
    time.sleep(0.3)
    assert site.json.hits == hits
    page.clock.fast_forward(1_000)
    wait_until(lambda: site.json.hits == hits + 1)


def test_a_hidden_tab_does_not_poll_until_shown(site: Site, page: Page) -> None:
    page.add_init_script(
        "Object.defineProperty(document, 'hidden', {get: () => window.__hidden === true});"
    )
    freeze_clock(page)
    page.goto(site.page())
    settle(page)
    hits = site.json.hits
    page.evaluate("window.__hidden = true")
    page.clock.fast_forward(180_000)
    time.sleep(0.3)
    assert site.json.hits == hits
    site.publish(make_banner())
    page.evaluate("window.__hidden = false; document.dispatchEvent(new Event('visibilitychange'))")
    expect(page.locator(CARD)).to_be_visible()
    assert site.json.hits == hits + 1


def test_included_twice_shows_one_banner(site: Site, page: Page) -> None:
    site.publish(make_banner())
    page.goto(site.page(main=HOST_MAIN + '<script src="/banner.js"></script>'))
    expect(page.locator(CARD)).to_be_visible()
    settle(page)
    expect(page.locator(HOST)).to_have_count(1)


def test_backs_off_exponentially_while_failing_and_recovers(
    site: Site, page: Page, http_errors_expected: Problems
) -> None:
    freeze_clock(page)
    site.json.status = 500
    page.goto(site.page(attrs={"interval": "5"}))
    settle(page)
    failures = site.json.hits
    delay = 5_000 * 2**failures
    page.clock.fast_forward(delay - 1_000)
    time.sleep(0.3)
    assert site.json.hits == failures
    site.publish(make_banner())
    page.clock.fast_forward(1_000)
    expect(page.locator(CARD)).to_be_visible()
    assert site.json.hits == failures + 1
    page.clock.fast_forward(5_000)  # back to the normal interval
    wait_until(lambda: site.json.hits == failures + 2)


def test_backoff_is_capped_at_ten_minutes(
    site: Site, page: Page, http_errors_expected: Problems
) -> None:
    freeze_clock(page)
    site.json.status = 503
    page.goto(site.page(attrs={"interval": "300"}))
    for _ in range(3):  # 2 x 300 s, then 4 x and 8 x 300 s, each capped at 600 s
        settle(page)  # the next check is scheduled once this returns
        hits = site.json.hits
        page.clock.fast_forward(599_000)
        time.sleep(0.2)
        assert site.json.hits == hits
        page.clock.fast_forward(1_000)
        wait_until(lambda: site.json.hits == hits + 1)  # noqa: B023


# --- dismissing ----------------------------------------------------------------------


def test_dismiss_persists_across_reload_until_a_new_version(site: Site, page: Page) -> None:
    site.publish(make_banner())
    page.goto(site.page())
    dismiss_button(page).click()
    expect(page.locator(HOST)).to_have_count(0)

    page.reload()
    settle(page)
    expect(page.locator(HOST)).to_have_count(0)

    site.publish(make_banner(version="v2", text={"sv": {"headline": "Nytt läge", "body": ""}}))
    page.reload()
    expect(page.locator(f"{CARD} .h")).to_have_text("Nytt läge")


def test_dismissing_one_banner_keeps_the_others(site: Site, page: Page) -> None:
    site.publish(make_banner(id="a"), make_banner(id="b", severity="info"))
    page.goto(site.page())
    dismiss_button(page).first.click()
    expect(page.locator(CARD)).to_have_count(1)
    expect(page.locator(CARD)).to_have_class("b info")


def test_keyboard_dismiss(site: Site, page: Page) -> None:
    site.publish(make_banner())
    page.goto(site.page())
    expect(page.locator(CARD)).to_be_visible()
    focused = f"document.querySelector('{HOST}').shadowRoot.activeElement?.tagName"
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate(focused) == "BUTTON":
            break
    assert page.evaluate(focused) == "BUTTON"
    page.keyboard.press("Enter")
    expect(page.locator(HOST)).to_have_count(0)
    page.reload()
    settle(page)
    expect(page.locator(HOST)).to_have_count(0)


def test_works_when_storage_is_blocked(site: Site, page: Page) -> None:
    page.add_init_script(
        "Object.defineProperty(window, 'localStorage', "
        "{get() { throw new DOMException('blocked', 'SecurityError'); }});"
    )
    site.publish(make_banner())
    page.goto(site.page())
    dismiss_button(page).click()
    expect(page.locator(HOST)).to_have_count(0)
    settle(page)
    expect(page.locator(HOST)).to_have_count(0)


# --- failures leave the host page alone ---------------------------------------------


BAD_ANSWERS = {
    "500": (500, "application/json", b'{"error": "boom"}'),
    "404": (404, "text/html", b"<h1>Not found</h1>"),
    "garbage": (200, "application/json", b"{not json"),
    "html": (200, "text/html", b"<html><body>login</body></html>"),
    "list": (200, "application/json", b"[]"),
    "banners-str": (200, "application/json", b'{"version": 1, "banners": "none"}'),
    "v2": (200, "application/json", b'{"version": 2, "banners": []}'),
    "no-version": (200, "application/json", b'{"banners": [{"id": "x"}]}'),
}


def test_bad_answers_leave_the_page_untouched(
    site: Site, page: Page, http_errors_expected: Problems, subtests: pytest.Subtests
) -> None:
    for name, (status, content_type, body) in BAD_ANSWERS.items():
        with subtests.test(msg=name):
            site.json.status, site.json.content_type, site.json.body = status, content_type, body
            page.goto(site.page())
            settle(page)
            assert_untouched(page)


def test_a_hanging_endpoint_times_out_quietly(site: Site, page: Page) -> None:
    freeze_clock(page)
    site.json.hang = True
    page.goto(site.page())
    wait_until(lambda: site.json.hits == 1)
    page.clock.fast_forward(9_000)
    time.sleep(0.3)
    assert site.json.abandoned == 0
    assert_untouched(page)
    page.clock.fast_forward(1_000)  # the 10 s timeout aborts the request
    wait_until(lambda: site.json.abandoned == 1)
    assert_untouched(page)
    site.json.hang = False
    site.publish(make_banner())
    settle(page)  # the aborted check finishing, or already the next one
    if site.json.hits == 1:
        settle(page)
    expect(page.locator(CARD)).to_be_visible()


def test_a_csp_that_blocks_the_endpoint_breaks_nothing(
    site: Site, page: Page, problems: Problems
) -> None:
    problems.allow += [
        "violates the following Content Security Policy directive",
        "Refused to connect because it violates",
    ]
    site.publish(make_banner())
    page.goto(site.page(csp=STRICT_CSP.replace("connect-src 'self'", "connect-src 'none'")))
    settle(page)
    assert_untouched(page)
    assert problems.expected and all("banner.json" in text for text in problems.expected)
    assert site.json.hits == 0


def test_a_failure_keeps_the_last_good_banner(
    site: Site, page: Page, http_errors_expected: Problems
) -> None:
    site.publish(make_banner())
    page.goto(site.page())
    expect(page.locator(CARD)).to_be_visible()
    site.json.status = 500
    settle(page)
    expect(page.locator(f"{CARD} .h")).to_have_text("Våra telefonnummer fungerar inte")


# --- hostile content -----------------------------------------------------------------

PAYLOADS = [
    '<img src=x onerror="window.__xss=1">',
    '"><script>window.__xss=2</script>',
    "javascript:window.__xss=3",
    "<svg onload=window.__xss=4>",
]


def test_hostile_content_is_shown_as_text_and_never_runs(
    site: Site, page: Page, http_errors_expected: Problems
) -> None:
    text = {
        lang: {"headline": " ".join(PAYLOADS), "body": PAYLOADS[0] + PAYLOADS[1]}
        for lang in ("sv", "en")
    }
    label = {"sv": PAYLOADS[1], "en": PAYLOADS[0]}
    hostile_links = [
        {"kind": "x", "href": "javascript:window.__xss=5", "label": label},
        {"kind": "x", "href": " JaVaScRiPt:window.__xss=6", "label": label},
        {"kind": "x", "href": "data:text/html,<script>window.__xss=7</script>", "label": label},
        {"kind": "x", "href": "vbscript:msgbox(1)", "label": label},
        {"kind": "x", "href": "http://insecure.example.se/", "label": label},
        {"kind": "x", "href": "/relative", "label": label},
        {"kind": "x", "href": {"toString": "https://x"}, "label": label},
        {
            "kind": "chat",
            "href": 'https://www.example.se/"><script>window.__xss=8</script>',
            "label": label,
        },
    ]
    site.publish(make_banner(id=PAYLOADS[1], version=PAYLOADS[0], text=text, links=hostile_links))
    url = site.page(csp=LAX_CSP)
    page.goto(url)
    # Control: this page would run an injected handler, so the checks below can fail.
    page.evaluate("""document.body.insertAdjacentHTML('beforeend',
        '<img id=control src=x onerror="window.__control=1">')""")
    wait_until(lambda: page.evaluate("window.__control") == 1)

    expect(page.locator(f"{CARD} .h")).to_have_text(" ".join(PAYLOADS))
    hrefs = [href for _, href in links(page)]
    assert len(hrefs) == 1 and hrefs[0] is not None
    assert hrefs[0].startswith("https://www.example.se/") and "<" not in hrefs[0]
    assert links(page)[0][0] == PAYLOADS[1]
    shadow = f"document.querySelector('{HOST}').shadowRoot"
    assert page.evaluate(f"{shadow}.querySelectorAll('img, script, svg, iframe').length") == 0
    assert (
        page.evaluate(
            f"[...{shadow}.querySelectorAll('*')].some(e => "
            "[...e.attributes].some(a => a.name.startsWith('on')))"
        )
        is False
    )
    dismiss_button(page).click()
    page.reload()
    settle(page)
    time.sleep(0.2)
    assert page.evaluate("window.__xss") is None


# --- accessibility -------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_axe_finds_no_serious_issues(site: Site, page: Page, lang: str) -> None:
    page.emulate_media(reduced_motion="reduce")
    site.publish(
        make_banner(id="c"),
        make_banner(id="w", severity="warning"),
        make_banner(id="i", severity="info"),
        make_banner(id="r", resolved=True),
    )
    page.goto(site.page(lang=lang))
    expect(page.locator(CARD)).to_have_count(4)
    results = Axe().run(page)
    serious = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
