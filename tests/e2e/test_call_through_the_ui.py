"""Set up sipgate and place calls through Home Assistant's UI in chromium.

The tests run in this order on one Home Assistant and build on each other: the
first adds the sipgate entry that the others call with. Screenshots go to
artifacts/.
"""

from pathlib import Path
import re
from typing import Any

from playwright.sync_api import Page, expect

from sipgate_lab.home_assistant import (
    HomeAssistant,
    Sandbox,
    save_dashboard,
    sipgate_call_dashboard,
    wait_for,
)
from sipgate_lab.sandbox import MASTER_SIP_ID, TOKEN

CALLEE = "+49 211 123456"
CALLER_ID = "+49 211 999000"
PHONE = "Handy von Erika Mustermann (y0, mobile)"
# What sipgate must receive for CALLEE with the phone and caller ID above.
EXPECTED_CALL = {
    "caller": "y0",
    "callee": "+49211123456",
    "deviceId": "y0",
    "callerId": "+49211999000",
}
DASHBOARD = "sipgate-calls"


def screenshot(page: Page, path: Path) -> None:
    """Save a screenshot once dialogs and drawers have stopped moving.

    That is when two screenshots in a row are the same.
    """
    shots = [b""]

    def settled() -> bytes | None:
        shots.append(page.screenshot())
        return shots[-1] if shots[-1] == shots[-2] else None

    path.write_bytes(wait_for(settled, f"the page to settle for {path.name}", 30))


def test_add_sipgate_through_the_dialog(
    page: Page,
    home_assistant: HomeAssistant,
    sandbox: Sandbox,
    token: str,
    artifacts: Path,
) -> None:
    """Token, advanced API address, phone from the list: the entry loads."""
    page.goto("/config/integrations/dashboard")
    page.get_by_role("button", name="Add integration").click()
    page.get_by_placeholder("Search for a brand name").fill("sipgate")
    page.get_by_role("button", name="sipgate", exact=True).click()

    page.get_by_role("textbox", name="Token ID").fill(TOKEN.token_id)
    page.get_by_role("textbox", name=re.compile(r"^Token\*?$")).fill(TOKEN.token)
    page.get_by_role("button", name="Advanced options").click()
    api_address = page.get_by_role("textbox", name="API address")
    expect(api_address).to_have_value("https://api.sipgate.com/v2")
    api_address.fill(sandbox.api_url)
    screenshot(page, artifacts / "1-config-dialog-token.png")
    page.get_by_role("button", name="Submit").click()

    expect(page.get_by_text("Default phone")).to_be_visible()
    page.get_by_label("Phone").click()
    page.get_by_role("menuitem", name=PHONE).click()
    page.get_by_role("textbox", name="Caller ID").fill(CALLER_ID)
    screenshot(page, artifacts / "2-config-dialog-phone.png")
    page.get_by_role("button", name="Submit").click()

    title = f"sipgate {MASTER_SIP_ID}w0"
    # The entry's device (its call entities) is offered for naming.
    expect(page.get_by_role("textbox", name="Device name")).to_have_value(title)
    page.get_by_role("button", name="Skip and finish").click()
    page.goto("/config/integrations/integration/sipgate")
    expect(page.locator("ha-row-item").get_by_text(title)).to_be_visible()
    (entry,) = home_assistant.config_entries(token, "sipgate")
    assert (entry["title"], entry["state"]) == (title, "loaded")
    assert sandbox.calls() == []


def test_call_from_a_dashboard_button(
    page: Page,
    home_assistant: HomeAssistant,
    sandbox: Sandbox,
    token: str,
    sipgate_entry: dict[str, Any],
    artifacts: Path,
) -> None:
    """The button performs sipgate.initiate_call: sipgate gets one call."""
    save_dashboard(
        home_assistant,
        token,
        DASHBOARD,
        "sipgate",
        sipgate_call_dashboard(CALLEE, sipgate_entry["entry_id"]),
    )
    page.goto(f"/{DASHBOARD}/call")
    button = page.get_by_role("button", name=f"Call {CALLEE}")
    expect(button).to_be_visible()
    screenshot(page, artifacts / "3-dashboard.png")
    button.click()

    (call,) = wait_for(sandbox.calls, "the call to reach the sandbox")
    assert call["json"] == EXPECTED_CALL
    assert call["headers"]["Authorization"] == TOKEN.authorization
    assert call["headers"]["Content-Type"] == "application/json"


def test_refused_call_explains_why(
    page: Page, sandbox: Sandbox, sipgate_entry: dict[str, Any], artifacts: Path
) -> None:
    """No balance: the notification says why, and sipgate is asked once."""
    sandbox.control("POST", "scenario", {"balance": 0})
    assert len(sandbox.calls()) == 1
    page.get_by_role("button", name=f"Call {CALLEE}").click()

    page.get_by_role("button", name="Notifications").click()
    notification = page.locator("persistent-notification-item").filter(
        has_text=f"Call to {CALLEE} failed"
    )
    expect(notification).to_be_visible()
    expect(notification).to_contain_text("Top up your sipgate balance")
    assert TOKEN.token not in notification.inner_text()
    screenshot(page, artifacts / "4-notification.png")
    # The notification comes after the refused request: nothing was repeated.
    calls = sandbox.calls()
    assert len(calls) == 2
    assert calls[1]["json"] == EXPECTED_CALL


def test_restart_keeps_the_entry_and_the_dashboard(
    page: Page,
    home_assistant: HomeAssistant,
    sandbox: Sandbox,
    token: str,
    sipgate_entry: dict[str, Any],
) -> None:
    """After hass restarts, the entry loads again and the button still calls."""
    sandbox.control("POST", "reset")
    home_assistant.stop()
    home_assistant.start()
    home_assistant.wait_until_running(token)
    (entry,) = home_assistant.config_entries(token, "sipgate")
    assert (entry["entry_id"], entry["state"]) == (sipgate_entry["entry_id"], "loaded")

    page.goto(f"/{DASHBOARD}/call")
    page.get_by_role("button", name=f"Call {CALLEE}").click()
    (call,) = wait_for(sandbox.calls, "the call after the restart")
    assert call["json"] == EXPECTED_CALL
