"""Fixtures every test gets: fast password hashing, in-memory email and cache, Celery tasks run
eagerly (unless the test is marked `redis`), and a Playwright chromium for browser tests.

PostgreSQL needs nothing special: with DATABASE_URL=postgres://… pytest-django creates
`test_<name>` (one per xdist worker, suffixed `_gw0`, `_gw1`, …) and drops it afterwards.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .markers import requires_postgres, requires_redis

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_configure(config: pytest.Config) -> None:
    # WhiteNoise looks for collected static files; tests serve them from the finders instead.
    config.addinivalue_line("filterwarnings", "ignore:No directory at:UserWarning:django.core.handlers.base")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(requires_postgres)
        if item.get_closest_marker("redis"):
            item.add_marker(requires_redis)
        if {"browser", "page"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    # Keep each phase's report on the item so the `page` fixture can screenshot failures.
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(autouse=True)
def _test_settings(settings, request: pytest.FixtureRequest) -> Iterator[None]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    if request.node.get_closest_marker("redis"):
        # Talk to the real broker and cache, as configured by the environment.
        yield
        return

    # A per-test in-memory cache: rate limits and cached values never leak between tests
    # (nor between xdist workers sharing one Redis).
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tests"}
    }
    from django.core.cache import cache

    cache.clear()

    # Celery reads its configuration once, so the app's conf is switched as well as settings.
    from portal.celery import app as celery_app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    saved = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = saved


# --- people -----------------------------------------------------------------------------

@pytest.fixture
def user(db):
    """A registered user with a verified email and no roles anywhere."""
    from .factories import UserFactory

    return UserFactory(email="user@example.com", name="Una User")


@pytest.fixture
def staff_user(db):
    from .factories import UserFactory

    # Vendor staff who do the back office's work: every vendor power (tests of a single power
    # make their own staff, tests/portal/test_staff_powers_matrix.py).
    return UserFactory(email="staff@vendor.example", name="Stella Staff", is_staff=True, powers="all")


@pytest.fixture
def logged_in_client(client, user):
    client.force_login(user)
    return client


# --- browser ------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by Playwright (one per xdist worker)."""
    if not CHROMIUM.exists():
        pytest.skip(f"needs chromium at {CHROMIUM}: `apt-get install chromium` (make test does it as root)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls that tests make
    # around it are still synchronous and safe.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _artifact_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")[:150]


@pytest.fixture
def page(browser, live_server, request: pytest.FixtureRequest):
    """A fresh browser tab (own cookies) whose relative URLs go to the live server.

    A failing test leaves a screenshot in test-artifacts/screenshots/.
    """
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    try:
        yield tab
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(SCREENSHOTS / f"{_artifact_name(request.node.nodeid)}-FAILED.png"), full_page=True)
        context.close()


@pytest.fixture
def screenshot(page, request: pytest.FixtureRequest) -> Callable[[str], Path]:
    """`screenshot("after-login")` saves the current page under test-artifacts/screenshots/."""

    def take(label: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{_artifact_name(request.node.nodeid)}-{_artifact_name(label)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def browser_login(page, live_server) -> Callable:
    """`browser_login(user)`: the `page` is signed in as `user` (no form round trip)."""
    from django.conf import settings
    from django.test import Client

    def login(user) -> None:
        client = Client()
        client.force_login(user)
        page.context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
              "url": live_server.url}]
        )

    return login
