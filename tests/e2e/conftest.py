"""Browser fixtures: Debian's Chromium driven by Playwright, phone-shaped contexts that
record every request to another host.

The browser is never downloaded: Playwright launches /usr/bin/chromium, which
`make test` installs. Without it these tests fail (they never skip), so a machine that
cannot run them says so.

Every context made here records requests to hosts other than 127.0.0.1 and script or
Content-Security-Policy errors; tests assert both lists are empty, and the fixture
checks again at teardown. Each test module here sets `pytestmark = pytest.mark.e2e`,
so `pytest -m "not e2e"` leaves the browser out.
"""

import os
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Request, WebError, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOST = "127.0.0.1"

# A phone as the residents hold it: Android, scanning with WeChat's built-in browser.
PHONE_VIEWPORT = {"width": 390, "height": 844}
PHONE_USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Mobile Safari/537.36 MicroMessenger/8.0.50"
)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium. "
            "Run `make test` (it installs chromium, fonts-noto-cjk and poppler-utils) "
            "or `apt-get install chromium`.",
            pytrace=False,
        )
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception:
        playwright.stop()
        raise
    yield browser
    browser.close()
    playwright.stop()


def is_foreign(url: str) -> bool:
    """True for a request that leaves this machine's test server (data:, blob: and
    about: URLs never touch the network)."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return False
    return parts.hostname != LOCAL_HOST


@pytest.fixture
def foreign_requests() -> list[str]:
    """Every request any test page made to a host other than 127.0.0.1. Tests assert
    it stays empty; the teardown of the context fixtures checks again."""
    return []


@pytest.fixture
def page_errors() -> list[str]:
    """Uncaught script errors and console errors other than an HTTP error status (a 404
    or 422 page is an expected answer): a Content-Security-Policy refusal lands here."""
    return []


def _watch(context: BrowserContext, foreign: list[str], errors: list[str]) -> None:
    def on_request(request: Request) -> None:
        if is_foreign(request.url):
            foreign.append(request.url)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(f"console: {message.text}")

    def on_error(error: WebError) -> None:
        errors.append(f"uncaught: {error.error}")

    context.on("request", on_request)
    context.on("console", on_console)
    context.on("weberror", on_error)


@pytest.fixture
def new_context(browser, foreign_requests, page_errors) -> Iterator[Callable[..., BrowserContext]]:
    """Make a browser context with any Playwright options; each records requests to
    other hosts and script errors."""
    contexts: list[BrowserContext] = []

    def make(**options) -> BrowserContext:
        options.setdefault("locale", "zh-CN")
        context = browser.new_context(**options)
        context.set_default_timeout(15_000)
        _watch(context, foreign_requests, page_errors)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert foreign_requests == [], f"pages requested other hosts: {foreign_requests}"
    assert page_errors == [], f"pages reported errors: {page_errors}"


@pytest.fixture
def phone(new_context) -> Callable[..., BrowserContext]:
    """phone(java_script_enabled=True, viewport=None) → a context shaped like a phone in
    WeChat: 390×844, touch, 2× pixels, Chinese."""

    def make(java_script_enabled: bool = True, viewport: dict | None = None) -> BrowserContext:
        return new_context(
            viewport=viewport or PHONE_VIEWPORT,
            is_mobile=True,
            has_touch=True,
            device_scale_factor=2,
            locale="zh-CN",
            user_agent=PHONE_USER_AGENT,
            java_script_enabled=java_script_enabled,
        )

    return make


@pytest.fixture
def phone_page(phone) -> Callable[..., Page]:
    """A fresh page in a fresh phone context."""

    def make(java_script_enabled: bool = True, viewport: dict | None = None) -> Page:
        return phone(java_script_enabled=java_script_enabled, viewport=viewport).new_page()

    return make
