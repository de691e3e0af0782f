"""Fixtures of the end-to-end suite: hass, the sandbox and chromium.

The suite runs in its own environment (requirements/e2e.txt), outside
pytest-homeassistant-custom-component, with ``--confcutdir tests/e2e`` so that
tests/conftest.py is not loaded: ``scripts/test`` runs it last.
"""

from collections.abc import Generator
import contextlib
from pathlib import Path
import shutil
from typing import Any

from playwright.sync_api import (
    Browser,
    Error as PlaywrightError,
    Page,
    Playwright,
    expect,
    sync_playwright,
)
import pytest

from sipgate_lab.home_assistant import (
    E2E_CONFIGURATION,
    PASSWORD,
    REPO,
    USER_NAME,
    USERNAME,
    HomeAssistant,
    Sandbox,
    free_port,
)

ARTIFACTS = REPO / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Generous: two cores start Home Assistant, its frontend and chromium at once.
TIMEOUT_MS = 60_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test here as end-to-end."""
    for item in items:
        item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Save a screenshot of the browser when a test fails."""
    report = yield
    page = getattr(item, "funcargs", {}).get("page")
    if report.failed and page is not None:
        with contextlib.suppress(PlaywrightError):
            page.screenshot(path=ARTIFACTS / f"failed-{item.name}-{report.when}.png")
    return report


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Return the git-ignored folder for screenshots and logs, emptied."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir()
    return ARTIFACTS


@pytest.fixture(scope="session")
def sandbox(artifacts: Path) -> Generator[Sandbox]:
    """Run the sipgate sandbox on a free loopback port."""
    sandbox = Sandbox(free_port(), artifacts / "sandbox.log")
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="session")
def home_assistant(
    artifacts: Path, tmp_path_factory: pytest.TempPathFactory
) -> Generator[HomeAssistant]:
    """Run a real Home Assistant with this working tree's integration."""
    hass = HomeAssistant(
        tmp_path_factory.mktemp("config"),
        free_port(),
        artifacts / "home-assistant.log",
    )
    hass.prepare(E2E_CONFIGURATION.format(url=hass.url))
    hass.start()
    yield hass
    hass.stop()


@pytest.fixture(scope="session")
def token(home_assistant: HomeAssistant) -> str:
    """Onboard through the HTTP API and return the administrator's token."""
    assert not home_assistant.onboarded()
    tokens = home_assistant.onboard(USER_NAME, USERNAME, PASSWORD)
    assert home_assistant.onboarded()
    access_token: str = tokens["access_token"]
    home_assistant.wait_until_running(access_token)
    # The suite's own configuration: never recovery mode.
    config = home_assistant.api("GET", "/api/config", token=access_token)
    assert (config["recovery_mode"], config["safe_mode"]) == (False, False)
    return access_token


@pytest.fixture(scope="session")
def playwright() -> Generator[Playwright]:
    """Start Playwright."""
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Generator[Browser]:
    """Start Debian's headless chromium (Playwright downloads no browser)."""
    browser = playwright.chromium.launch(
        executable_path=shutil.which("chromium") or "/usr/bin/chromium",
        args=CHROMIUM_ARGS,
    )
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def page(browser: Browser, home_assistant: HomeAssistant, token: str) -> Page:
    """Log in through Home Assistant's login page and return the tab."""
    context = browser.new_context(
        base_url=home_assistant.url,
        viewport={"width": 1280, "height": 1000},
        locale="en-US",
    )
    context.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    page = context.new_page()
    page.goto("/")
    page.get_by_role("textbox", name="Username").fill(USERNAME)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Settings")).to_be_visible()
    return page


@pytest.fixture
def sipgate_entry(home_assistant: HomeAssistant, token: str) -> dict[str, Any]:
    """Return the sipgate entry that a test before added through the UI."""
    entries = home_assistant.config_entries(token, "sipgate")
    if len(entries) != 1:
        pytest.fail(f"Expected the sipgate entry added through the UI: {entries}")
    return entries[0]
