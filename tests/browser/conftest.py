"""Browser tests: the real app (prod build, one port, its own data folder) driven by Chromium.

- ``running`` / ``app_url``: the app, started once per session (tests/browser/server.py).
- ``browser``: Debian's Chromium through Playwright (never `playwright install`).
- ``page``: a fresh context per test (1400x900, 30 s timeout); ``new_page()`` opens another
  context, for a second person in the same test.
- ``shot(page, name)``: a full-page screenshot in test-artifacts/screenshots/<name>.png.
- ``app_services``: LabelHub's services in this process, on the app's database (fast setup).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from tests.browser.flows import CHROMIUM_ARGS, SOCKET_PROBE, VIEWPORT, chromium_path
from tests.browser.server import REPO_ROOT, RunningApp, running_app, services_env

ARTIFACTS = REPO_ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
DEFAULT_TIMEOUT_MS = 30_000
EXPECT_TIMEOUT_MS = 15_000  # assertions wait for the app this long (Playwright's default is 5 s)
_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def oidc_issuer() -> Iterator[str]:
    """An OpenID Connect provider (oidc-provider-mock) the app's single sign-on points at."""
    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread(require_nonce=True) as server:
        yield f"http://localhost:{server.server_port}"


OIDC_PROVIDER_NAME = "Mock ID"


@pytest.fixture(scope="session")
def running(tmp_path_factory: pytest.TempPathFactory, oidc_issuer: str) -> Iterator[RunningApp]:
    """The app for the whole session; its log is kept as test-artifacts/browser-app.log."""
    oidc_env = {  # single sign-on switched on (#9); password sign-in works as before
        "LABELHUB_OIDC_ISSUER": oidc_issuer,
        "LABELHUB_OIDC_CLIENT_ID": "labelhub-browser-tests",
        "LABELHUB_OIDC_CLIENT_SECRET": "labelhub-browser-tests-secret",
        "LABELHUB_OIDC_PROVIDER_NAME": OIDC_PROVIDER_NAME,
    }
    with running_app(tmp_path_factory.mktemp("app-data"), extra_env=oidc_env) as app:
        try:
            yield app
        finally:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):
                shutil.copyfile(app.log_path, ARTIFACTS / "browser-app.log")


@pytest.fixture(scope="session")
def app_url(running: RunningApp) -> str:
    return running.url


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium is not installed (make browser-deps installs Debian's chromium)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser, app_url: str, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Open a page in a new browser context (a new person: own cookies); closed after the test.

    When the test fails, each of its pages is saved as screenshots/FAILED-<test>-<n>.png.
    """
    contexts = []

    def make():  # type: ignore[no-untyped-def]
        context = browser.new_context(base_url=app_url, viewport=VIEWPORT, accept_downloads=True)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.add_init_script(SOCKET_PROBE)
        contexts.append(context)
        return context.new_page()

    yield make
    if request.node.stash.get(_FAILED, False):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for n, context in enumerate(contexts):
            for page in context.pages:
                with contextlib.suppress(Exception):
                    page.screenshot(
                        path=str(SCREENSHOTS / f"FAILED-{request.node.name}-{n}.png"),
                        full_page=True,
                    )
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):  # type: ignore[no-untyped-def]
    return new_page()


@pytest.fixture
def shot() -> Callable[..., Path]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:  # type: ignore[no-untyped-def]
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def app_services(running: RunningApp) -> Callable[[], AbstractContextManager[None]]:
    """``with app_services(): ...`` runs LabelHub services against the running app's database."""
    return lambda: services_env(running.data_dir)
