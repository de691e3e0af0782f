"""Contacts in the UI: add one, call it, text it; and the account's balance.

Runs after test_calls_through_the_ui.py, on the sipgate entry that
test_call_through_the_ui.py added (phone y0, caller ID +49 211 999000). The
tests run in this order and build on each other: the first adds the contact
the others call and text. Screenshots go to artifacts/.
"""

from pathlib import Path
import re
from typing import Any

from playwright.sync_api import Page, expect
import pytest

from sipgate_lab.home_assistant import HomeAssistant, Sandbox, save_dashboard, wait_for
from sipgate_lab.sandbox import TOKEN

from .test_call_through_the_ui import screenshot

NAME = "Oma Erna"
NUMBER = "+49 211 1234567"
# The contact's own phone to ring first, instead of the entry's y0.
PHONE = "VoIP-Telefon von Erika Mustermann (e0, VoIP)"
# What sipgate must receive for the contact's Call button: its number and
# phone, and the entry's caller ID (the contact has none of its own).
EXPECTED_CALL = {
    "caller": "e0",
    "callee": "+492111234567",
    "deviceId": "e0",
    "callerId": "+49211999000",
}
MESSAGE = "Kommst du Sonntag zum Kaffee? Liebe Grüße, Erika"
# From the account's SMS extension (s0: the entry has no other set).
EXPECTED_SMS = {"smsId": "s0", "recipient": "+492111234567", "message": MESSAGE}
DASHBOARD = "sipgate-contacts"
# The sandbox's default balance, 35000 (1/10000 EUR), as the frontend shows it
# in English (en-US).
BALANCE = "€3.50"


@pytest.fixture
def contact(
    home_assistant: HomeAssistant, token: str, sipgate_entry: dict[str, Any]
) -> dict[str, str]:
    """Return the entity IDs of the contact a test before added, by key."""
    entry_id = sipgate_entry["entry_id"]
    contacts = home_assistant.subentries(token, entry_id, "contact")
    if len(contacts) != 1:
        pytest.fail(f"Expected the contact added through the UI: {contacts}")
    return home_assistant.entity_ids(token, entry_id, contacts[0]["subentry_id"])


def contacts_dashboard(*cards: dict[str, Any]) -> dict[str, Any]:
    """Return the dashboard of the contacts with these cards."""
    return {
        "title": "Contacts",
        "views": [{"title": "Contacts", "path": "contacts", "cards": list(cards)}],
    }


def contact_card(contact: dict[str, str]) -> dict[str, Any]:
    """Return the card of the contact: its Call button and its SMS entity."""
    return {
        "type": "entities",
        "title": NAME,
        "entities": [contact["call"], contact["sms"]],
    }


def test_add_a_contact_through_the_dialog(
    page: Page,
    home_assistant: HomeAssistant,
    sandbox: Sandbox,
    token: str,
    sipgate_entry: dict[str, Any],
    artifacts: Path,
) -> None:
    """Add contact on the entry's page: a device with Call and SMS entities."""
    sandbox.control("DELETE", "requests")
    page.goto("/config/integrations/integration/sipgate")
    page.get_by_role("button", name="Add contact").click()
    page.get_by_role("textbox", name="Name").fill(NAME)
    page.get_by_role("textbox", name="Phone number").fill(NUMBER)
    page.get_by_label("Phone to ring first").click()
    page.get_by_role("menuitem", name=PHONE).click()
    expect(page.get_by_role("textbox", name="Caller ID")).to_have_value("")
    screenshot(page, artifacts / "9-contact-dialog.png")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text(f"Created configuration for {NAME}.")).to_be_visible()
    page.get_by_role("button", name="Finish").click()

    entry_id = sipgate_entry["entry_id"]
    (subentry,) = home_assistant.subentries(token, entry_id, "contact")
    assert subentry["title"] == NAME

    def entities() -> dict[str, str] | None:
        # The entry reloads for the new contact, which brings its entities.
        ids = home_assistant.entity_ids(token, entry_id, subentry["subentry_id"])
        return ids if len(ids) == 2 else None

    ids = wait_for(entities, "the contact's entities")
    assert ids == {"call": "button.oma_erna_call", "sms": "notify.oma_erna_sms"}
    (entry,) = home_assistant.config_entries(token, "sipgate")
    assert (entry["entry_id"], entry["state"]) == (entry_id, "loaded")
    # The contact is a device of its own on the entry's page (model "contact").
    device = re.compile(rf"^{NAME} contact\b.*\b2 entities\b")
    expect(page.get_by_role("button", name=device)).to_be_visible()
    assert sandbox.calls() == []
    assert sandbox.sms() == []


def test_call_the_contact_from_a_dashboard(
    page: Page,
    home_assistant: HomeAssistant,
    sandbox: Sandbox,
    token: str,
    contact: dict[str, str],
    artifacts: Path,
) -> None:
    """The contact's Call button: sipgate gets one call to the contact."""
    save_dashboard(
        home_assistant,
        token,
        DASHBOARD,
        "Contacts",
        contacts_dashboard(contact_card(contact)),
    )
    page.goto(f"/{DASHBOARD}/contacts")
    card = page.locator("hui-entities-card").filter(has_text=NAME)
    expect(card.get_by_text(f"{NAME} SMS")).to_be_visible()
    press = card.get_by_role("button", name="Press")
    expect(press).to_be_visible()
    screenshot(page, artifacts / "10-contact-call-button.png")
    press.click()

    (call,) = wait_for(sandbox.calls, "the call to reach the sandbox")
    assert call["json"] == EXPECTED_CALL
    assert call["headers"]["Authorization"] == TOKEN.authorization


def test_text_the_contact_from_the_actions_tool(
    page: Page, sandbox: Sandbox, contact: dict[str, str], artifacts: Path
) -> None:
    """Tools → Actions, notify.send_message to the contact: sipgate gets one SMS.

    The notify entity's more-info dialog has no message field (yet): the
    actions tool is where the UI sends a message.
    """
    page.goto("/config/tools/action")
    page.get_by_role("button", name="Action", exact=True).click()
    page.get_by_placeholder("Search").fill("notify.send_message")
    page.get_by_role("option", name="Send a notification message").click()
    page.get_by_role("button", name="Add target").click()
    page.get_by_role("option", name=f"SMS {NAME}").click()
    expect(page.get_by_role("button", name=f"SMS {NAME}")).to_be_visible()
    # The message field has no accessible name: find it by its description
    # (the optional title's description mentions the message too).
    rows = page.locator("ha-settings-row")
    message_row = rows.filter(has_text="Your notification message")
    message_row.filter(has_not_text="Title").get_by_role("textbox").fill(MESSAGE)
    screenshot(page, artifacts / "11-sms.png")
    assert sandbox.sms() == []
    page.get_by_role("button", name="Perform action").click()

    (sms,) = wait_for(sandbox.sms, "the SMS to reach the sandbox")
    assert sms["json"] == EXPECTED_SMS
    assert sms["headers"]["Authorization"] == TOKEN.authorization
    assert sms["headers"]["Content-Type"] == "application/json"
    # Sending it called nobody.
    assert len(sandbox.calls()) == 1


def test_balance_on_the_dashboard(
    page: Page,
    home_assistant: HomeAssistant,
    token: str,
    sipgate_entry: dict[str, Any],
    contact: dict[str, str],
    artifacts: Path,
) -> None:
    """The account's Balance shows 3.50 EUR; the SMS entity when it last sent."""
    balance = home_assistant.entity_ids(token, sipgate_entry["entry_id"])["balance"]
    assert balance == "sensor.sipgate_1234567w0_balance"
    state = home_assistant.api("GET", f"/api/states/{balance}", token=token)
    assert state["state"] == "3.5"
    assert state["attributes"]["unit_of_measurement"] == "EUR"
    assert state["attributes"]["device_class"] == "monetary"
    save_dashboard(
        home_assistant,
        token,
        DASHBOARD,
        "Contacts",
        contacts_dashboard(
            contact_card(contact),
            {"type": "entities", "title": "Account", "entities": [balance]},
        ),
    )
    page.goto(f"/{DASHBOARD}/contacts")
    account = page.locator("hui-entities-card").filter(has_text="Account")
    expect(account).to_contain_text("sipgate 1234567w0 Balance")
    expect(account).to_contain_text(BALANCE)
    # The SMS entity's state is when it last sent: no longer "Unknown".
    card = page.locator("hui-entities-card").filter(has_text=NAME)
    expect(card).to_contain_text(re.compile(r"\b(ago|now)\b", re.IGNORECASE))
    screenshot(page, artifacts / "12-balance.png")
