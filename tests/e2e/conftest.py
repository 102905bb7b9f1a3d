"""Browser fixtures: Debian's Chromium driven by Playwright, phone-shaped contexts that
record every request to another host.

The browser is never downloaded: Playwright launches /usr/bin/chromium, which
`make test` installs. Without it these tests fail (they never skip), so a machine that
cannot run them says so.
"""

import os
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, sync_playwright

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


def pytest_collection_modifyitems(items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.e2e)


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


def _watch(context: BrowserContext, foreign: list[str]) -> None:
    def record(request: Request) -> None:
        if is_foreign(request.url):
            foreign.append(request.url)

    context.on("request", record)


@pytest.fixture
def new_context(browser, foreign_requests) -> Iterator[Callable[..., BrowserContext]]:
    """Make a browser context with any Playwright options; each records foreign requests."""
    contexts: list[BrowserContext] = []

    def make(**options) -> BrowserContext:
        options.setdefault("locale", "zh-CN")
        context = browser.new_context(**options)
        context.set_default_timeout(15_000)
        _watch(context, foreign_requests)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert foreign_requests == [], f"pages requested other hosts: {foreign_requests}"


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
