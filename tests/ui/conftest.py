"""The UI tests' app: one ragchat UI on a free loopback port, with its own home, for the session.

The app runs in this process (Gradio serves it from a background thread), so a
test can also look at its ``Library``. The first start builds the index of the
bundled report (about 6 s cold).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ragchat.net import free_loopback_port as free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives Debian's chromium with playwright (headless)")
    # Gradio's queue calls pandas APIs that pandas 3 deprecates; not ours to fix.
    config.addinivalue_line("filterwarnings", "ignore:'future.no_silent_downcasting' is deprecated")
    config.addinivalue_line("filterwarnings", "ignore:The copy keyword is deprecated")


@dataclass
class RunningApp:
    url: str
    settings: object
    library: object
    demo: object


def start_app(home: Path, library=None, **ui: object) -> RunningApp:
    from chat.ui.app import launch
    from chat.ui.documents import Library
    from ragchat.settings import load_settings

    empty = home / "empty.toml"
    empty.write_text("", encoding="utf-8")
    settings = load_settings(config=empty, home=home)
    if ui:
        settings = settings.model_copy(update={"ui": settings.ui.model_copy(update=ui)})
    if library is None:
        library = Library(settings)
        library.start()
    demo, url = launch(settings, host="127.0.0.1", port=free_port(), block=False, library=library, quiet=True)
    library.wait(timeout=600)
    return RunningApp(url=url, settings=settings, library=library, demo=demo)


@pytest.fixture(scope="session")
def ui_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """The app on the bundled report; tests that add documents remove them again."""
    app = start_app(tmp_path_factory.mktemp("ui-home"))
    try:
        yield app
    finally:
        app.demo.close()


@pytest.fixture
def client(ui_app: RunningApp):
    """A gradio_client session of its own."""
    from gradio_client import Client

    return Client(ui_app.url, verbose=False)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's chromium; missing is a skip on a developer's machine and a failure in CI."""
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        reason = f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")


@pytest.fixture
def start_ui():
    """``start_app`` for a test that needs an app of its own (close it with ``.demo.close()``)."""
    return start_app


@pytest.fixture(scope="session")
def browser(chromium_path: str):
    """Headless chromium (Debian's, never a downloaded one)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, ui_app: RunningApp):
    """A fresh page (its own session) on the app; off-machine requests are recorded and blocked."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    outside: list[str] = []

    def route(request_route):
        outside.append(request_route.request.url)
        request_route.abort()

    context.route(lambda url: not url.startswith(ui_app.url.rstrip("/")) and not url.startswith("data:"), route)
    page = context.new_page()
    page.outside_requests = outside
    page.goto(ui_app.url)
    page.wait_for_selector("#rc-question textarea")
    try:
        yield page
    finally:
        context.close()
