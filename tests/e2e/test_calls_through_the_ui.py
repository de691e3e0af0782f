"""Incoming calls in the UI: set up sipgate.io, see a call ring, hang it up.

Runs after test_call_through_the_ui.py, on its sipgate entry. The sandbox
plays sipgate's push side: it signs pushes with a key of its own, which the
options take as the key of the pushes. Screenshots go to artifacts/.
"""

from pathlib import Path
import re
from typing import Any

from playwright.sync_api import Page, expect

from sipgate_lab.home_assistant import HomeAssistant, Sandbox, save_dashboard, wait_for

from .test_call_through_the_ui import screenshot

DASHBOARD = "sipgate-phone"
SENSOR = "sensor.sipgate_1234567w0_call_state"
BUTTON = "button.sipgate_1234567w0_hang_up"
EVENT = "event.sipgate_1234567w0_calls"
# The caller is in the sandbox's contacts as "Oma Erna".
CALLER = "4921112345678"


def call_requests(sandbox: Sandbox, method: str) -> list[dict[str, Any]]:
    """Return the recorded requests to /v2/calls/... with this method."""
    return [
        request
        for request in sandbox.control("GET", "requests")
        if request["method"] == method and request["path"].startswith("/v2/calls/")
    ]


def test_set_up_incoming_calls_in_the_options(
    page: Page,
    home_assistant: HomeAssistant,
    sandbox: Sandbox,
    sipgate_entry: dict[str, Any],
    artifacts: Path,
) -> None:
    """Options → Incoming and outgoing calls: the URL, set in sipgate, the key."""
    page.goto("/config/integrations/integration/sipgate")
    page.get_by_role("button", name="Configure").first.click()
    page.get_by_text("Incoming and outgoing calls").click()
    expect(page.get_by_text("sipgate.io", exact=False).first).to_be_visible()
    url = f"{home_assistant.url}/api/webhook/"
    expect(page.get_by_text(url, exact=False)).to_be_visible()
    # The sandbox takes http://, which the step warns sipgate would not.
    expect(page.get_by_text("sipgate pushes only to HTTPS addresses")).to_be_visible()
    switch = page.get_by_role("switch", name="Set this address in sipgate")
    # The switch's input is covered by its styling (ha-switch): click that.
    page.locator("ha-switch").click()
    expect(switch).to_be_checked()
    page.get_by_role("button", name="Advanced options").click()
    key = sandbox.push_public_key()
    page.get_by_role("textbox", name="Public key of the pushes").fill(key)
    screenshot(page, artifacts / "5-calls-options.png")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("Options successfully saved")).to_be_visible()
    page.get_by_role("button", name="Finish").click()

    settings = [
        request["json"]
        for request in sandbox.control("GET", "requests")
        if request["method"] == "PUT" and request["path"] == "/v2/settings/sipgateio"
    ]
    assert len(settings) == 1
    assert settings[0]["incomingUrl"] == settings[0]["outgoingUrl"]
    assert re.fullmatch(rf"{re.escape(url)}[0-9a-f]{{64}}", settings[0]["incomingUrl"])


def test_a_call_rings_is_answered_and_hung_up(
    page: Page,
    home_assistant: HomeAssistant,
    sandbox: Sandbox,
    token: str,
    artifacts: Path,
) -> None:
    """The dashboard shows ringing with the name, then talking; Hang up ends it."""
    save_dashboard(
        home_assistant,
        token,
        DASHBOARD,
        "Phone",
        {
            "title": "Phone",
            "views": [
                {
                    "title": "Calls",
                    "path": "calls",
                    "cards": [
                        {
                            "type": "entities",
                            "title": "Landline",
                            "entities": [
                                SENSOR,
                                {
                                    "type": "attribute",
                                    "entity": SENSOR,
                                    "attribute": "caller_name",
                                    "name": "Caller",
                                },
                                BUTTON,
                                EVENT,
                            ],
                        }
                    ],
                }
            ],
        },
    )
    page.goto(f"/{DASHBOARD}/calls")
    card = page.locator("hui-entities-card")
    expect(card.get_by_text("Idle")).to_be_visible()

    # Like sipgate, the sandbox pushes to the URL its sipgate.io settings hold.
    sandbox.control(
        "POST",
        "push/call",
        {
            "from": CALLER,
            "answer_after": 8,
            "hangup": "on_delete",
        },
    )
    expect(card.get_by_text("Ringing")).to_be_visible()
    # The attribute row's value is a text node of a shadow root, which
    # get_by_text does not match: compare the value element's text.
    expect(card.locator("ha-attribute-value")).to_have_text("Oma Erna")
    screenshot(page, artifacts / "6-call-ringing.png")

    expect(card.get_by_text("Talking")).to_be_visible(timeout=30_000)
    screenshot(page, artifacts / "7-call-talking.png")
    assert call_requests(sandbox, "DELETE") == []
    card.get_by_role("button", name="Press").click()

    (delete,) = wait_for(
        lambda: call_requests(sandbox, "DELETE"), "the hang-up to reach the sandbox"
    )
    expect(card.get_by_text("Idle")).to_be_visible()
    screenshot(page, artifacts / "8-call-ended.png")

    def hung_up() -> dict[str, Any] | None:
        # The sandbox records a push once its answer has come.
        (call,) = sandbox.control("GET", "push/calls")
        return call if len(call["pushes"]) == 3 else None

    call = wait_for(hung_up, "the sandbox to record the hangup push")
    assert delete["path"] == f"/v2/calls/{call['callId']}"
    events = [push["event"] for push in call["pushes"]]
    assert events == ["newCall", "answer", "hangup"]
    assert all(push["status"] == 200 for push in call["pushes"])
