"""The action sipgate.hangup_call and the Hang up button."""

from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.sipgate.const import DOMAIN
from homeassistant.components import persistent_notification
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from sipgate_lab.sandbox import TOKEN_NO_DEVICES, SipgateSandbox

from .conftest import use_token

BUTTON = "button.sipgate_1234567w0_hang_up"
STATE = "sensor.sipgate_1234567w0_call_state"


async def hang_up(hass: HomeAssistant, data: dict[str, Any]) -> Any:
    """Perform sipgate.hangup_call with a response."""
    return await hass.services.async_call(
        DOMAIN, "hangup_call", data, blocking=True, return_response=True
    )


def notifications(hass: HomeAssistant) -> dict[str, Any]:
    """Return the persistent notifications of the sipgate integration."""
    return {
        key: value
        for key, value in persistent_notification._async_get_or_create_notifications(
            hass
        ).items()
        if key.startswith(DOMAIN)
    }


async def test_hang_up_a_call_by_its_id(
    hass: HomeAssistant, push_url: str, sandbox: SipgateSandbox
) -> None:
    """The call id of a call event ends the call: 204, then its hangup push."""
    call = await sandbox.simulate_call(push_url, hangup="on_delete")
    await hass.async_block_till_done(wait_background_tasks=True)
    assert await hang_up(hass, {"call_id": f" {call.call_id} "}) == {"hung_up": True}
    (delete,) = sandbox.requests_to("DELETE", f"/v2/calls/{call.call_id}")
    assert delete.body == ""
    await sandbox.wait_for_pushes()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get(STATE).state == "idle"  # type: ignore[union-attr]
    assert notifications(hass) == {}


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize("call_id", ["0123456789ABCDEF", "a/b?c"])
async def test_call_that_is_over(
    hass: HomeAssistant, sandbox: SipgateSandbox, call_id: str
) -> None:
    """Sipgate knows no such call (404): it is over, no error."""
    assert await hang_up(hass, {"call_id": call_id}) == {"hung_up": False}
    # Sent escaped, as one path segment: the sandbox sees the id whole.
    assert [request.path for request in sandbox.requests[2:]] == [
        f"/v2/calls/{call_id}"
    ]
    assert notifications(hass) == {}


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    ("call_id", "key"),
    [
        ("", "invalid_call_id"),
        ("  ", "invalid_call_id"),
        ("Anruf-ü", "invalid_call_id"),
        ("A" * 513, "invalid_call_id"),
        (1234, "not_text"),
        (None, "invalid_call_id"),
    ],
)
async def test_invalid_call_id(
    hass: HomeAssistant, sandbox: SipgateSandbox, call_id: Any, key: str
) -> None:
    """What cannot be a call id is refused before sipgate is asked."""
    with pytest.raises(ServiceValidationError) as excinfo:
        await hang_up(hass, {"call_id": call_id})
    assert excinfo.value.translation_domain == DOMAIN
    assert excinfo.value.translation_key == key
    assert not sandbox.requests_to("DELETE", f"/v2/calls/{call_id}")
    (notification,) = notifications(hass).values()
    assert notification["title"] == "Hanging up a call failed"


async def test_token_without_rtcm_write(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    sandbox: SipgateSandbox,
    issue_registry: ir.IssueRegistry,
) -> None:
    """403: the message names the scope; no repair issue about calls."""
    mock_config_entry.add_to_hass(hass)
    use_token(hass, mock_config_entry, TOKEN_NO_DEVICES)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    with pytest.raises(HomeAssistantError) as excinfo:
        await hang_up(hass, {"call_id": "0123456789ABCDEF"})
    assert excinfo.value.translation_key == "hangup_forbidden"
    assert "rtcm:write" in str(excinfo.value)
    (notification,) = notifications(hass).values()
    assert notification["title"] == "Hanging up a call failed"
    assert "rtcm:write" in notification["message"]
    assert not [key for key in issue_registry.issues if key[0] == DOMAIN]


@pytest.mark.parametrize(
    ("scenario", "key"),
    [
        ({"server_error": 502}, "server_error"),
        ({"token_valid": False}, "auth_failed"),
        ({"drop_connection": True}, "no_answer"),
    ],
)
async def test_other_failures(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    sandbox: SipgateSandbox,
    scenario: dict[str, Any],
    key: str,
) -> None:
    """Failures as for calls: translated, with the account's notification."""
    for name, value in scenario.items():
        setattr(sandbox.scenario, name, value)
    with pytest.raises(HomeAssistantError) as excinfo:
        await hang_up(hass, {"call_id": "0123456789ABCDEF"})
    assert excinfo.value.translation_key == key
    notification = notifications(hass)[
        f"sipgate_call_failed_{init_integration.entry_id}"
    ]
    assert notification["title"] == "Hanging up a call failed"
    # The integration sends it once; aiohttp may resend an idempotent DELETE
    # once on a connection the server closed.
    assert 1 <= len(sandbox.requests_to("DELETE", "/v2/calls/0123456789ABCDEF")) <= 2


async def test_button_is_unavailable_without_a_call(
    hass: HomeAssistant, push_url: str
) -> None:
    """Nothing to hang up: the button is unavailable."""
    state = hass.states.get(BUTTON)
    assert state is not None
    assert state.state == "unavailable"


async def test_button_failure_is_reported(
    hass: HomeAssistant,
    push_entry: MockConfigEntry,
    push_url: str,
    sandbox: SipgateSandbox,
) -> None:
    """A failing hang-up from the button raises and notifies."""
    await sandbox.simulate_call(push_url, hangup="on_delete")
    await hass.async_block_till_done(wait_background_tasks=True)
    sandbox.scenario.server_error = 500
    with pytest.raises(HomeAssistantError) as excinfo:
        await hass.services.async_call(
            "button", "press", {"entity_id": BUTTON}, blocking=True
        )
    assert excinfo.value.translation_key == "server_error"
    assert notifications(hass)[f"sipgate_call_failed_{push_entry.entry_id}"][
        "title"
    ] == ("Hanging up a call failed")
    assert hass.states.get(STATE).state == "talking"  # type: ignore[union-attr]


@pytest.mark.parametrize("answer", [True, False], ids=["talking", "ringing"])
async def test_call_sipgate_no_longer_knows_ends_here(
    hass: HomeAssistant, push_url: str, sandbox: SipgateSandbox, answer: bool
) -> None:
    """Its hangup push was lost: Hang up gets 404 and ends it here too."""
    call = await sandbox.simulate_call(push_url, answer=answer, hangup="drop")
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get(STATE).state == ("talking" if answer else "ringing")  # type: ignore[union-attr]
    assert call.state == "ended"
    await hass.services.async_call(
        "button", "press", {"entity_id": BUTTON}, blocking=True
    )
    assert sandbox.requests_to("DELETE", f"/v2/calls/{call.call_id}")
    state = hass.states.get("event.sipgate_1234567w0_calls")
    assert state is not None
    assert state.attributes["event_type"] == ("ended" if answer else "missed")
    assert state.attributes["cause"] == "expired"
    assert hass.states.get(STATE).state == "idle"  # type: ignore[union-attr]
    assert hass.states.get(BUTTON).state == "unavailable"  # type: ignore[union-attr]


async def test_hang_up_leaves_the_issue_about_calls(
    hass: HomeAssistant,
    push_entry: MockConfigEntry,
    push_url: str,
    sandbox: SipgateSandbox,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A hang-up proves nothing about calls: only a call removes their issue."""
    with pytest.raises(HomeAssistantError):  # 403: a phone not of this user
        await hass.services.async_call(
            DOMAIN,
            "initiate_call",
            {"callee": "+49211123456", "caller": "e9"},
            blocking=True,
        )
    issue = (DOMAIN, f"call_forbidden_{push_entry.entry_id}")
    assert issue in issue_registry.issues
    assert await hang_up(hass, {"call_id": "0123456789ABCDEF"}) == {"hung_up": False}
    assert notifications(hass) == {}
    assert issue in issue_registry.issues
    await hass.services.async_call(
        DOMAIN, "initiate_call", {"callee": "+49211123456"}, blocking=True
    )
    assert issue not in issue_registry.issues
