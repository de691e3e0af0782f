"""Tests of the sipgate.initiate_call action against the sandbox."""

from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.sipgate.const import CONF_CALLER_ID, CONF_DEVICE_ID, DOMAIN
from custom_components.sipgate.notifications import (
    NOTIFICATION_ID_PREFIX,
    async_notify_call_failed,
    notification_id,
)
from homeassistant.components import persistent_notification
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from sipgate_lab.sandbox import TOKEN, TOKEN_NO_CALLS, SipgateSandbox

CALLS = "/v2/sessions/calls"


async def call(
    hass: HomeAssistant, data: dict[str, Any], *, return_response: bool = False
) -> Any:
    """Perform sipgate.initiate_call and wait for it."""
    return await hass.services.async_call(
        DOMAIN,
        "initiate_call",
        data,
        blocking=True,
        return_response=return_response,
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


@pytest.mark.usefixtures("init_integration")
async def test_call_with_defaults(hass: HomeAssistant, sandbox: SipgateSandbox) -> None:
    """The configured device rings first; the session id is returned."""
    response = await call(hass, {"callee": "+49 (211) 123-456"}, return_response=True)
    (request,) = sandbox.requests_to("POST", CALLS)
    assert request.json == {
        "caller": "e0",
        "callee": "+49211123456",
        "deviceId": "e0",
        "callerId": "+49211999000",
    }
    assert request.headers["Authorization"] == TOKEN.authorization
    assert response == {"session_id": sandbox.calls[0]["sessionId"]}


async def test_call_without_caller_id(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, sandbox: SipgateSandbox
) -> None:
    """Without a caller ID the body has none, and no response is returned."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, options={CONF_DEVICE_ID: "x0"}
    )
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert await call(hass, {"callee": "0211 123456"}) is None
    assert sandbox.requests_to("POST", CALLS)[0].json == {
        "caller": "x0",
        "callee": "0211123456",
        "deviceId": "x0",
    }


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    ("data", "body"),
    [
        (
            {"callee": "0049211123456", "caller": "Y0"},
            {"caller": "y0", "callee": "+49211123456", "deviceId": "e0"},
        ),
        (
            {"callee": "0211/123.456", "caller": "+49 211 555000", "device_id": "X0"},
            {"caller": "+49211555000", "callee": "0211123456", "deviceId": "x0"},
        ),
        (
            {"callee": "+4915799912345", "caller_id": "0049 211 777"},
            {"caller": "e0", "callee": "+4915799912345", "deviceId": "e0"},
        ),
    ],
)
async def test_call_overrides(
    hass: HomeAssistant,
    sandbox: SipgateSandbox,
    data: dict[str, str],
    body: dict[str, str],
) -> None:
    """Caller, device and caller ID from the action replace the defaults."""
    await call(hass, data)
    sent = sandbox.requests_to("POST", CALLS)[0].json
    caller_id = data.get("caller_id")
    expected_caller_id = "+49211777" if caller_id else "+49211999000"
    assert sent == {**body, "callerId": expected_caller_id}


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    ("data", "key", "value"),
    [
        ({"callee": ""}, "invalid_callee", ""),
        ({"callee": "call mum"}, "invalid_callee", "call mum"),
        ({"callee": "12"}, "invalid_callee", "12"),
        ({"callee": "+123456"}, "invalid_callee", "+123456"),
        ({"callee": "+1234567890123456"}, "invalid_callee", "+1234567890123456"),
        ({"callee": "0211123456", "caller": "phone"}, "invalid_caller", "phone"),
        ({"callee": "0211123456", "device_id": "e"}, "invalid_device_id", "e"),
        ({"callee": "0211123456", "caller_id": "x1"}, "invalid_caller_id", "x1"),
    ],
)
async def test_invalid_input(
    hass: HomeAssistant,
    sandbox: SipgateSandbox,
    data: dict[str, str],
    key: str,
    value: str,
) -> None:
    """Bad input raises a translated error, notifies, and sends nothing."""
    with pytest.raises(ServiceValidationError) as excinfo:
        await call(hass, data)
    assert excinfo.value.translation_domain == DOMAIN
    assert excinfo.value.translation_key == key
    assert excinfo.value.translation_placeholders == {"value": value}
    assert value in str(excinfo.value)
    assert not sandbox.requests_to("POST", CALLS)
    (notification,) = notifications(hass).values()
    # Home Assistant drops the final full stop of exception messages.
    assert notification["message"] == f"{excinfo.value}."
    assert notification["title"] == f"Call to {data['callee']} failed"


@pytest.mark.parametrize(
    ("scenario", "data", "key", "words"),
    [
        ({}, {"callee": "12345"}, "bad_request", "rejected the call as invalid"),
        ({"balance": 0}, {}, "insufficient_funds", "Top up your sipgate balance"),
        ({}, {"caller": "e9"}, "forbidden", "sessions:calls:write"),
        ({"rate_limit": 60}, {}, "rate_limited", "Try again in a minute"),
        ({"server_error": 503}, {}, "server_error", "status 503"),
        ({"delay": 0.3}, {}, "timeout", "did not answer in time"),
        ({"drop_connection": True}, {}, "cannot_connect", "Could not reach sipgate"),
    ],
)
async def test_api_errors(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    sandbox: SipgateSandbox,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    scenario: dict[str, Any],
    data: dict[str, str],
    key: str,
    words: str,
) -> None:
    """Sipgate's refusals reach the user in plain words; no retry happens."""
    monkeypatch.setattr(init_integration.runtime_data.client, "_timeout", 0.1)
    for name, value in scenario.items():
        setattr(sandbox.scenario, name, value)
    with pytest.raises(HomeAssistantError) as excinfo:
        await call(hass, {"callee": "+49211123456", **data})
    assert not isinstance(excinfo.value, ServiceValidationError)
    assert excinfo.value.translation_domain == DOMAIN
    assert excinfo.value.translation_key == key
    assert words in str(excinfo.value)
    assert len(sandbox.requests_to("POST", CALLS)) == 1
    notification = notifications(hass)[notification_id(init_integration.entry_id)]
    assert words in notification["message"]
    for text in (str(excinfo.value), notification["message"], caplog.text):
        assert TOKEN.token not in text
        assert TOKEN.token_id not in text
    assert not hass.config_entries.flow.async_progress()


async def test_auth_error_starts_reauth(
    hass: HomeAssistant, init_integration: MockConfigEntry, sandbox: SipgateSandbox
) -> None:
    """A token revoked after setup fails the call and asks for a new one."""
    sandbox.scenario.token_valid = False
    with pytest.raises(HomeAssistantError) as excinfo:
        await call(hass, {"callee": "+49211123456"})
    assert excinfo.value.translation_key == "auth_failed"
    assert "re-enter the token" in str(excinfo.value)
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def test_forbidden_without_call_scope(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, sandbox: SipgateSandbox
) -> None:
    """A token without sessions:calls:write gets the 403 explanation."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        data={
            **mock_config_entry.data,
            "token_id": TOKEN_NO_CALLS.token_id,
            "token": TOKEN_NO_CALLS.token,
        },
    )
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    with pytest.raises(HomeAssistantError) as excinfo:
        await call(hass, {"callee": "+49211123456"})
    assert excinfo.value.translation_key == "forbidden"


async def test_notification_replaced_then_dismissed(
    hass: HomeAssistant, init_integration: MockConfigEntry, sandbox: SipgateSandbox
) -> None:
    """One notification per entry: the latest failure, gone after a success."""
    key = notification_id(init_integration.entry_id)
    assert key.startswith("sipgate")
    sandbox.scenario.balance = 0
    with pytest.raises(HomeAssistantError):
        await call(hass, {"callee": "+49211123456"})
    assert "balance" in notifications(hass)[key]["message"]
    with pytest.raises(ServiceValidationError):
        await call(hass, {"callee": "nope"})
    assert list(notifications(hass)) == [key]
    assert "nope" in notifications(hass)[key]["message"]
    sandbox.scenario.balance = 100
    await call(hass, {"callee": "+49211123456"})
    assert notifications(hass) == {}


async def test_notification_in_german(
    hass: HomeAssistant, init_integration: MockConfigEntry, sandbox: SipgateSandbox
) -> None:
    """The notification speaks the user's language."""
    hass.config.language = "de"
    sandbox.scenario.balance = 0
    with pytest.raises(HomeAssistantError):
        await call(hass, {"callee": "+49211123456"})
    (notification,) = notifications(hass).values()
    assert notification["title"] == "Anruf bei +49211123456 fehlgeschlagen"
    assert "Lade dein sipgate-Guthaben auf" in notification["message"]


async def test_choosing_between_entries(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entry_data: dict[str, str],
    sandbox: SipgateSandbox,
) -> None:
    """With two entries the action needs config_entry_id."""
    other = MockConfigEntry(
        domain=DOMAIN,
        unique_id="1234567w9",
        data=entry_data,
        options={CONF_DEVICE_ID: "y0", CONF_CALLER_ID: "+49211888000"},
    )
    other.add_to_hass(hass)
    await hass.config_entries.async_setup(other.entry_id)
    with pytest.raises(ServiceValidationError) as excinfo:
        await call(hass, {"callee": "+49211123456"})
    assert excinfo.value.translation_key == "entry_required"
    assert "config_entry_id" in notifications(hass)[NOTIFICATION_ID_PREFIX]["message"]
    assert not sandbox.requests_to("POST", CALLS)
    await call(hass, {"callee": "+49211123456", "config_entry_id": other.entry_id})
    assert sandbox.requests_to("POST", CALLS)[0].json["caller"] == "y0"


async def test_no_loaded_entry(
    hass: HomeAssistant, init_integration: MockConfigEntry, sandbox: SipgateSandbox
) -> None:
    """Without a loaded entry the action explains what to check."""
    await hass.config_entries.async_unload(init_integration.entry_id)
    with pytest.raises(ServiceValidationError) as excinfo:
        await call(hass, {"callee": "+49211123456"})
    assert excinfo.value.translation_key == "no_loaded_entry"
    assert not sandbox.requests_to("POST", CALLS)


async def test_entry_not_loaded(
    hass: HomeAssistant, init_integration: MockConfigEntry, sandbox: SipgateSandbox
) -> None:
    """An unloaded entry cannot place calls."""
    await hass.config_entries.async_unload(init_integration.entry_id)
    with pytest.raises(ServiceValidationError) as excinfo:
        await call(
            hass,
            {"callee": "+49211123456", "config_entry_id": init_integration.entry_id},
        )
    assert excinfo.value.translation_key == "service_config_entry_not_loaded"
    assert "is not loaded" in notifications(hass)[NOTIFICATION_ID_PREFIX]["message"]
    assert not sandbox.requests_to("POST", CALLS)


async def test_untranslated_failure_is_shown_as_is(hass: HomeAssistant) -> None:
    """An error without a translation is shown with its own message."""
    await async_notify_call_failed(
        hass, None, "+49211123456", HomeAssistantError("boom")
    )
    notification = notifications(hass)[NOTIFICATION_ID_PREFIX]
    assert notification["message"] == "boom"
    assert notification["title"] == "Call to +49211123456 failed"


async def test_forbidden_raises_repair_issue(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    sandbox: SipgateSandbox,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A 403 explains both causes in Repairs; a successful call clears it."""
    with pytest.raises(HomeAssistantError):
        await call(hass, {"callee": "+49211123456", "caller": "e9"})
    issue = issue_registry.async_get_issue(
        DOMAIN, f"call_forbidden_{init_integration.entry_id}"
    )
    assert issue is not None
    assert issue.translation_key == "call_forbidden"
    assert issue.translation_placeholders == {"account": "sipgate 1234567w0"}
    assert issue.severity is ir.IssueSeverity.ERROR
    assert not issue.is_fixable
    await call(hass, {"callee": "+49211123456"})
    assert not issue_registry.issues
    assert notifications(hass) == {}


async def test_removing_entry_clears_repair_issue(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A removed entry leaves no repair issue behind."""
    with pytest.raises(HomeAssistantError):
        await call(hass, {"callee": "+49211123456", "device_id": "e9"})
    assert len(issue_registry.issues) == 1
    await hass.config_entries.async_remove(init_integration.entry_id)
    assert not issue_registry.issues
