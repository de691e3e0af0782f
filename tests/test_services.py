"""Tests of the sipgate.initiate_call action against the sandbox."""

import asyncio
from collections.abc import Awaitable, Callable
import logging
from typing import Any

from aiohttp import ClientTimeout, web
from aiohttp.test_utils import TestServer
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.sipgate.api import (
    SipgateClientError,
    SipgateError,
    SipgateRateLimitError,
)
from custom_components.sipgate.const import CONF_DEVICE_ID, DOMAIN
from custom_components.sipgate.notifications import (
    NOTIFICATION_ID_PREFIX,
    async_notify_failed,
)
from custom_components.sipgate.schema import vol
from homeassistant.components import persistent_notification
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from sipgate_lab.sandbox import TOKEN, TOKEN_NO_CALLS, SipgateSandbox

from .conftest import StandInEntry, use_token

CALLS = "/v2/sessions/calls"
ACCOUNTLESS = NOTIFICATION_ID_PREFIX


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


def entry_notification(entry: MockConfigEntry) -> str:
    """Return the id the failure notification of an entry has."""
    return f"sipgate_call_failed_{entry.entry_id}"


@pytest.mark.usefixtures("init_integration")
async def test_call_with_defaults(
    hass: HomeAssistant, sandbox: SipgateSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """The configured device rings first; the session id is returned."""
    caplog.set_level(logging.DEBUG, "custom_components.sipgate")
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
    assert (
        "custom_components.sipgate",
        logging.DEBUG,
        f"sipgate started call session {sandbox.calls[0]['sessionId']}",
    ) in caplog.record_tuples


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
        ({"callee": "112"}, {"caller": "e0", "callee": "112", "deviceId": "e0"}),
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
    expected_caller_id = "+49211777" if "caller_id" in data else "+49211999000"
    assert sent == {**body, "callerId": expected_caller_id}


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    ("data", "key", "field", "value"),
    [
        ({"callee": ""}, "invalid_callee", "callee", ""),
        ({"callee": None}, "invalid_callee", "callee", ""),
        ({"callee": "call mum"}, "invalid_callee", "callee", "call mum"),
        ({"callee": "12"}, "invalid_callee", "callee", "12"),
        ({"callee": "+123456"}, "invalid_callee", "callee", "+123456"),
        (
            {"callee": "+1234567890123456"},
            "invalid_callee",
            "callee",
            "+1234567890123456",
        ),
        (
            {"callee": "\uff10\uff12\uff11\uff11\uff11\uff12\uff13"},
            "invalid_callee",
            "callee",
            "\uff10\uff12\uff11\uff11\uff11\uff12\uff13",
        ),
        ({"callee": "492111234567"}, "ambiguous_number", "callee", "492111234567"),
        ({"callee": 35956526}, "not_text", "callee", "35956526"),
        ({"callee": 49211123456}, "not_text", "callee", "49211123456"),
        ({"callee": 4.9e10}, "not_text", "callee", "49000000000.0"),
        (
            {"callee": "0211123456", "caller": "phone"},
            "invalid_caller",
            "caller",
            "phone",
        ),
        (
            {"callee": "0211123456", "caller": "2111234567"},
            "ambiguous_number",
            "caller",
            "2111234567",
        ),
        ({"callee": "0211123456", "caller": 0}, "not_text", "caller", "0"),
        (
            {"callee": "0211123456", "device_id": "e"},
            "invalid_device_id",
            "device_id",
            "e",
        ),
        (
            {"callee": "0211123456", "device_id": "e\u0661"},
            "invalid_device_id",
            "device_id",
            "e\u0661",
        ),
        (
            {"callee": "0211123456", "device_id": "2111234567"},
            "invalid_device_id",
            "device_id",
            "2111234567",
        ),
        (
            {"callee": "0211123456", "caller_id": "x1"},
            "invalid_caller_id",
            "caller_id",
            "x1",
        ),
        (
            {"callee": "0211123456", "caller_id": "4921199900"},
            "ambiguous_number",
            "caller_id",
            "4921199900",
        ),
        ({"callee": "0211123456", "caller_id": True}, "not_text", "caller_id", "True"),
        ({"callee": ["0211123456"]}, "not_text", "callee", "['0211123456']"),
        ({"callee": {"n": 1}}, "not_text", "callee", "{'n': 1}"),
    ],
)
async def test_invalid_input(
    hass: HomeAssistant,
    sandbox: SipgateSandbox,
    data: dict[str, Any],
    key: str,
    field: str,
    value: str,
) -> None:
    """Bad input raises a translated error, notifies, and sends nothing."""
    with pytest.raises(ServiceValidationError) as excinfo:
        await call(hass, data)
    assert excinfo.value.translation_domain == DOMAIN
    assert excinfo.value.translation_key == key
    assert excinfo.value.translation_placeholders == {"field": field, "value": value}
    assert value in str(excinfo.value)
    assert not sandbox.requests_to("POST", CALLS)
    (notification,) = notifications(hass).values()
    # Home Assistant drops the final full stop of exception messages.
    assert notification["message"] == f"{excinfo.value}."
    callee = "" if data["callee"] is None else data["callee"]
    assert notification["title"] == f"Call to {callee} failed"


@pytest.mark.usefixtures("init_integration")
async def test_yaml_number_says_to_quote_it(hass: HomeAssistant) -> None:
    """An unquoted number in YAML gets an explanation, not another number."""
    with pytest.raises(ServiceValidationError) as excinfo:
        await call(hass, {"callee": 0o211123456})
    assert str(excinfo.value) == (
        "callee must be text, but arrived as 35956526: YAML and JSON "
        "read an unquoted number as a number, which drops a leading 0 and can "
        "turn 0211… into another number. Put it in quotes, such as "
        'callee: "0211123456". A template whose result looks like a number, '
        "such as +492111234567, has "
        "the same problem: write the number with 00 instead of + (the filter "
        "replace('+', '00'))"
    )


@pytest.mark.usefixtures("init_integration")
async def test_number_from_a_template(
    hass: HomeAssistant, sandbox: SipgateSandbox
) -> None:
    """A template's +49… becomes a number; its 00 form stays text and works."""
    assert await async_setup_component(
        hass,
        "script",
        {
            "script": {
                "plus": {
                    "sequence": [
                        {
                            "action": "sipgate.initiate_call",
                            "data": {"callee": "{{ '+492111234567' }}"},
                        }
                    ]
                },
                "zeros": {
                    "sequence": [
                        {
                            "action": "sipgate.initiate_call",
                            "data": {
                                "callee": "{{ '+492111234567' | replace('+', '00') }}"
                            },
                        }
                    ]
                },
            }
        },
    )
    with pytest.raises(ServiceValidationError) as excinfo:
        await hass.services.async_call("script", "plus", blocking=True)
    assert excinfo.value.translation_key == "not_text"
    assert "00 instead of +" in str(excinfo.value)
    await hass.services.async_call("script", "zeros", blocking=True)
    (placed,) = sandbox.calls
    assert placed["callee"] == "+492111234567"


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "callee"),
        ({"caller": "e0"}, "callee"),
        ({"callee": "0211123456", "calee": "0211123456"}, "calee"),
    ],
)
async def test_schema(
    hass: HomeAssistant, sandbox: SipgateSandbox, data: dict[str, Any], field: str
) -> None:
    """Without a callee, or with a misspelt field, the schema refuses."""
    # probatio says "at 'callee'", voluptuous "@ data['callee']".
    with pytest.raises(vol.Invalid, match=rf"(?:at |data\[)'{field}'"):
        await call(hass, data)
    assert not sandbox.requests_to("POST", CALLS)


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    ("callee", "shown"), [("a" * 40, "a" * 40), ("a" * 41, f"{'a' * 39}…")]
)
async def test_forty_characters_are_shown(
    hass: HomeAssistant, callee: str, shown: str
) -> None:
    """Up to 40 characters are shown as they are; more are cut to 40."""
    with pytest.raises(ServiceValidationError) as excinfo:
        await call(hass, {"callee": callee})
    assert excinfo.value.translation_placeholders["value"] == shown
    (notification,) = notifications(hass).values()
    assert notification["title"] == f"Call to {shown} failed"


@pytest.mark.usefixtures("init_integration")
async def test_long_input_is_shortened(hass: HomeAssistant) -> None:
    """A 10 kB callee is shown with 40 characters, not echoed whole."""
    callee = "0" * 10_000
    with pytest.raises(ServiceValidationError) as excinfo:
        await call(hass, {"callee": callee})
    shown = f"{'0' * 39}…"
    assert excinfo.value.translation_placeholders["value"] == shown
    (notification,) = notifications(hass).values()
    assert notification["title"] == f"Call to {shown} failed"
    assert shown in notification["message"]
    assert len(notification["title"]) + len(notification["message"]) < 400


@pytest.mark.parametrize(
    ("scenario", "data", "key", "words"),
    [
        ({"balance": 0}, {}, "insufficient_funds", "Top up your sipgate balance"),
        ({}, {"caller": "e9"}, "forbidden", "sessions:calls:write"),
        (
            {"rate_limit": 30},
            {},
            "rate_limited_retry_after",
            "Try again in 30 seconds",
        ),
        ({"server_error": 503}, {}, "server_error", "status 503"),
        ({"delay": 0.3}, {}, "timeout", "The request was sent, but sipgate did not"),
        (
            {"drop_connection": True},
            {},
            "no_answer",
            "The request was sent, but the connection to sipgate broke",
        ),
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
    monkeypatch.setattr(
        init_integration.runtime_data.client, "_timeout", ClientTimeout(total=0.1)
    )
    for name, value in scenario.items():
        setattr(sandbox.scenario, name, value)
    with pytest.raises(HomeAssistantError) as excinfo:
        await call(hass, {"callee": "+49211123456", **data})
    assert not isinstance(excinfo.value, ServiceValidationError)
    assert excinfo.value.translation_domain == DOMAIN
    assert excinfo.value.translation_key == key
    assert words in str(excinfo.value)
    assert len(sandbox.requests_to("POST", CALLS)) == 1
    notification = notifications(hass)[entry_notification(init_integration)]
    assert words in notification["message"]
    for text in (str(excinfo.value), notification["message"], caplog.text):
        assert TOKEN.token not in text
        assert TOKEN.token_id not in text
    assert not hass.config_entries.flow.async_progress()


@pytest.fixture
def canned_entry(
    stand_in_entry: StandInEntry,
) -> Callable[[web.Response], Awaitable[MockConfigEntry]]:
    """Return a loaded entry whose calls get one fixed answer."""

    async def make(response: web.Response) -> MockConfigEntry:
        async def calls(request: web.Request) -> web.Response:
            return response

        return await stand_in_entry({"POST /v2/sessions/calls": calls})

    return make


@pytest.mark.parametrize(
    ("response", "key", "words"),
    [
        (web.Response(status=400), "bad_request", "rejected the call as invalid"),
        (web.Response(status=404), "request_rejected", "status 404"),
        (web.Response(status=405), "request_rejected", "status 405"),
        (web.Response(status=415), "request_rejected", "status 415"),
        (web.Response(status=429), "rate_limited", "Wait a little"),
        (
            web.Response(text="<html>", content_type="text/html"),
            "invalid_response",
            "could not be read",
        ),
        (web.json_response({}), "invalid_response", "could not be read"),
    ],
)
async def test_other_answers(
    hass: HomeAssistant,
    canned_entry: Callable[[web.Response], Awaitable[MockConfigEntry]],
    response: web.Response,
    key: str,
    words: str,
) -> None:
    """Other 4xx, 429 without Retry-After and unreadable 200s say so."""
    entry = await canned_entry(response)
    with pytest.raises(HomeAssistantError) as excinfo:
        await call(hass, {"callee": "+49211123456"})
    assert excinfo.value.translation_domain == DOMAIN
    assert excinfo.value.translation_key == key
    assert words in str(excinfo.value)
    assert words in notifications(hass)[entry_notification(entry)]["message"]


async def test_connection_refused_was_not_sent(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nothing listens any more: the request was not sent, trying again is safe."""
    server = TestServer(web.Application(), host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("/v2"))
    await server.close()
    monkeypatch.setattr(init_integration.runtime_data.client, "_base_url", url)
    with pytest.raises(HomeAssistantError) as excinfo:
        await call(hass, {"callee": "+49211123456"})
    assert excinfo.value.translation_key == "cannot_connect"
    assert "the request was not sent" in str(excinfo.value)


class _UnlistedClientError(SipgateClientError):
    """A 4xx error class the integration does not list."""


class _UnlistedError(SipgateError):
    """An error class the integration does not list."""


@pytest.mark.parametrize(
    ("error", "key", "words"),
    [
        (_UnlistedClientError("x", 418), "request_rejected", "status 418"),
        (_UnlistedError("x", 499), "request_failed", "status 499"),
        (SipgateRateLimitError("x", 429), "rate_limited", "Wait a little"),
        (RuntimeError("bug"), "unexpected_error", "(RuntimeError)"),
        (KeyError("sessionId"), "unexpected_error", "(KeyError)"),
    ],
)
async def test_errors_the_integration_does_not_list(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    error: Exception,
    key: str,
    words: str,
) -> None:
    """Subclasses map to their base's message; anything else is still shown."""

    async def fail(**kwargs: Any) -> str:
        raise error

    monkeypatch.setattr(
        init_integration.runtime_data.client, "async_initiate_call", fail
    )
    with pytest.raises(HomeAssistantError) as excinfo:
        await call(hass, {"callee": "+49211123456"})
    assert excinfo.value.translation_key == key
    assert excinfo.value.__cause__ is error
    assert words in str(excinfo.value)
    assert words in notifications(hass)[entry_notification(init_integration)]["message"]
    logged = (
        "custom_components.sipgate",
        logging.ERROR,
        "Unexpected error while sending a request to sipgate",
    ) in caplog.record_tuples
    assert logged is not isinstance(error, SipgateError)


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
    use_token(hass, mock_config_entry, TOKEN_NO_CALLS)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    with pytest.raises(HomeAssistantError) as excinfo:
        await call(hass, {"callee": "+49211123456"})
    assert excinfo.value.translation_key == "forbidden"


@pytest.mark.parametrize("change", ["reload", "unload"])
async def test_call_in_flight_while_the_entry_changes(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    sandbox: SipgateSandbox,
    change: str,
) -> None:
    """A reload or unload during the request: the outcome is still reported."""
    sandbox.scenario.delay = 0.2
    task = asyncio.create_task(
        call(hass, {"callee": "+49211123456"}, return_response=True)
    )
    await sandbox.wait_for_requests("POST", CALLS, 1)
    if change == "reload":
        await hass.config_entries.async_reload(init_integration.entry_id)
    else:
        await hass.config_entries.async_unload(init_integration.entry_id)
    response = await task
    assert response == {"session_id": sandbox.calls[0]["sessionId"]}

    sandbox.scenario.balance = 0
    if change == "unload":
        await hass.config_entries.async_setup(init_integration.entry_id)
    task = asyncio.create_task(call(hass, {"callee": "+49211123456"}))
    await sandbox.wait_for_requests("POST", CALLS, 2)
    await getattr(hass.config_entries, f"async_{change}")(init_integration.entry_id)
    with pytest.raises(HomeAssistantError) as excinfo:
        await task
    assert excinfo.value.translation_key == "insufficient_funds"
    assert (
        "balance"
        in notifications(hass)[entry_notification(init_integration)]["message"]
    )
    assert len(sandbox.requests_to("POST", CALLS)) == 2


async def test_notification_replaced_then_dismissed(
    hass: HomeAssistant, init_integration: MockConfigEntry, sandbox: SipgateSandbox
) -> None:
    """One notification per entry: the latest failure, gone after a success."""
    key = entry_notification(init_integration)
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
    second_entry: MockConfigEntry,
    sandbox: SipgateSandbox,
) -> None:
    """With two entries the action needs the account; a success clears that."""
    # A success first, so that nothing is left to clear from before.
    await call(
        hass, {"callee": "+49211123456", "config_entry_id": second_entry.entry_id}
    )
    with pytest.raises(ServiceValidationError) as excinfo:
        await call(hass, {"callee": "+49211123456"})
    assert excinfo.value.translation_domain == DOMAIN
    assert excinfo.value.translation_key == "entry_required"
    message = notifications(hass)[ACCOUNTLESS]["message"]
    assert "“sipgate account” in the UI, config_entry_id in YAML" in message
    assert len(sandbox.requests_to("POST", CALLS)) == 1
    await call(
        hass, {"callee": "+49211123456", "config_entry_id": second_entry.entry_id}
    )
    assert sandbox.requests_to("POST", CALLS)[1].json["caller"] == "y0"
    assert notifications(hass) == {}


async def test_two_accounts_two_notifications(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    second_entry: MockConfigEntry,
    sandbox: SipgateSandbox,
) -> None:
    """Each account has its own notification; a success clears only its own."""
    sandbox.scenario.balance = 0
    for entry in (init_integration, second_entry):
        with pytest.raises(HomeAssistantError):
            await call(
                hass, {"callee": "+49211123456", "config_entry_id": entry.entry_id}
            )
    assert set(notifications(hass)) == {
        entry_notification(init_integration),
        entry_notification(second_entry),
    }
    sandbox.scenario.balance = 100
    await call(
        hass, {"callee": "+49211123456", "config_entry_id": second_entry.entry_id}
    )
    assert set(notifications(hass)) == {entry_notification(init_integration)}


async def test_no_loaded_entry(
    hass: HomeAssistant, init_integration: MockConfigEntry, sandbox: SipgateSandbox
) -> None:
    """Without a loaded entry the action explains what to check."""
    await hass.config_entries.async_unload(init_integration.entry_id)
    with pytest.raises(ServiceValidationError) as excinfo:
        await call(hass, {"callee": "+49211123456"})
    assert excinfo.value.translation_domain == DOMAIN
    assert excinfo.value.translation_key == "no_loaded_entry"
    assert "Devices & services" in notifications(hass)[ACCOUNTLESS]["message"]
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
    assert "is not loaded" in notifications(hass)[ACCOUNTLESS]["message"]
    assert not sandbox.requests_to("POST", CALLS)


async def test_untranslated_failure_is_shown_as_is(hass: HomeAssistant) -> None:
    """An error without a translation is shown with its own message."""
    await async_notify_failed(
        hass,
        None,
        "call_failed",
        {"callee": "+49211123456"},
        HomeAssistantError("boom"),
    )
    notification = notifications(hass)[ACCOUNTLESS]
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
