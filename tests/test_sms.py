"""Tests of the sipgate.send_sms action and the contacts' SMS entities."""

from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
import logging
from types import MappingProxyType
from typing import Any

from aiohttp import ClientTimeout, web
from aiohttp.test_utils import TestServer
from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.sipgate.const import CONF_SMS_ID, DOMAIN
from custom_components.sipgate.notifications import forbidden_issue_id, notification_id
from custom_components.sipgate.schema import vol
from homeassistant.components import persistent_notification
from homeassistant.config_entries import SOURCE_REAUTH, ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.util import dt as dt_util
from sipgate_lab import sandbox as sandbox_module
from sipgate_lab.sandbox import MASTER_SIP_ID, TOKEN, TOKEN_NO_SMS_SEND, SipgateSandbox

from .conftest import StandInEntry, entry_for, use_token

SMS = "/v2/sessions/sms"
CALLS = "/v2/sessions/calls"
BALANCE = "/v2/balance"
ACCOUNTLESS = notification_id(None)
# What the tests freeze the clock at, and the same in epoch seconds.
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
NOW_EPOCH = 1796126400
THIRTY_DAYS = 30 * 24 * 60 * 60


async def send_sms(hass: HomeAssistant, data: dict[str, Any]) -> Any:
    """Perform sipgate.send_sms and wait for it."""
    return await hass.services.async_call(DOMAIN, "send_sms", data, blocking=True)


def notifications(hass: HomeAssistant) -> dict[str, Any]:
    """Return the persistent notifications of the sipgate integration."""
    return {
        key: value
        for key, value in persistent_notification._async_get_or_create_notifications(
            hass
        ).items()
        if key.startswith(DOMAIN)
    }


def sipgate_issues(issue_registry: ir.IssueRegistry) -> list[str]:
    """Return the ids of the integration's repair issues."""
    return [issue_id for domain, issue_id in issue_registry.issues if domain == DOMAIN]


async def set_up(
    hass: HomeAssistant, entry: MockConfigEntry, **options: Any
) -> MockConfigEntry:
    """Set up an entry with these options besides its own."""
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, options={**entry.options, **options})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


@pytest.fixture
def more_extensions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give the sandbox's user w0 the SMS extensions s1 and s2 besides s0."""
    monkeypatch.setitem(
        sandbox_module.SMS_EXTENSIONS,
        "w0",
        [
            *sandbox_module.SMS_EXTENSIONS["w0"],
            {"id": "s1", "alias": "SMS 1", "callerId": "+4921199990"},
            {"id": "s2", "alias": "SMS 2", "callerId": "+4921199990"},
        ],
    )


@pytest.mark.usefixtures("more_extensions")
@pytest.mark.parametrize(
    ("options", "data", "body"),
    [
        (
            {},
            {"recipient": "0211 123456", "message": "Hallo"},
            {"smsId": "s0", "recipient": "0211123456", "message": "Hallo"},
        ),
        (
            {},
            {
                "recipient": "+49 (211) 123-456",
                "message": "Wasser im Keller 💧\n  Bitte nachsehen. ",
            },
            {
                "smsId": "s0",
                "recipient": "+49211123456",
                "message": "Wasser im Keller 💧\n  Bitte nachsehen. ",
            },
        ),
        (
            {},
            {"recipient": "0049 1579 9912345", "message": "x"},
            {"smsId": "s0", "recipient": "+4915799912345", "message": "x"},
        ),
        (
            {CONF_SMS_ID: "s2"},
            {"recipient": "0211123456", "message": "Hallo"},
            {"smsId": "s2", "recipient": "0211123456", "message": "Hallo"},
        ),
        (
            {CONF_SMS_ID: "s2"},
            {"recipient": "0211123456", "message": "Hallo", "sms_id": " S1 "},
            {"smsId": "s1", "recipient": "0211123456", "message": "Hallo"},
        ),
        (
            {},
            {"recipient": "0211123456", "message": "Hallo", "sms_id": "s0"},
            {"smsId": "s0", "recipient": "0211123456", "message": "Hallo"},
        ),
    ],
)
async def test_send_sms(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    sandbox: SipgateSandbox,
    options: dict[str, str],
    data: dict[str, str],
    body: dict[str, str],
) -> None:
    """One POST with the normalised recipient and the extension to send from."""
    entry = await set_up(hass, mock_config_entry, **options)
    assert await send_sms(hass, data) is None
    (request,) = sandbox.requests_to("POST", SMS)
    assert request.json == body
    assert request.headers["Authorization"] == TOKEN.authorization
    assert request.headers["Content-Type"].startswith("application/json")
    assert sandbox.sms == [body]
    assert notifications(hass) == {}
    assert entry.runtime_data.requests_succeeded == 1
    assert entry.runtime_data.requests_failed == 0


@pytest.mark.parametrize(
    ("send_at", "expected"),
    [
        # 18:00 in Berlin (CET) is 17:00 UTC.
        (datetime(2026, 12, 24, 17, 0, tzinfo=UTC), 1798131600),
        (datetime(2026, 12, 24, 18, 0), 1798131600),  # noqa: DTZ001 - naive
        ("2026-12-24 18:00:00", 1798131600),
        ("2026-12-24T18:00", 1798131600),
        ("2026-12-24T17:00:00Z", 1798131600),
        ("2026-12-24T18:00:00+01:00", 1798131600),
        (
            datetime(2026, 12, 3, 8, 30, tzinfo=timezone(timedelta(hours=-5))),
            1796304600,
        ),
        ("2026-12-03T08:30:00-05:00", 1796304600),
        # Fractions of a second are rounded up, to stay in the future.
        (datetime(2026, 12, 24, 16, 59, 59, 1, tzinfo=UTC), 1798131600),
    ],
)
async def test_send_at(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    sandbox: SipgateSandbox,
    send_at: datetime | str,
    expected: int,
) -> None:
    """A time to send is sent as epoch seconds; without a zone it is HA's."""
    await hass.config.async_set_time_zone("Europe/Berlin")
    freezer.move_to(NOW)
    sandbox.clock = lambda: NOW_EPOCH
    await send_sms(
        hass, {"recipient": "+4915799912345", "message": "Frohe", "send_at": send_at}
    )
    (request,) = sandbox.requests_to("POST", SMS)
    assert request.json == {
        "smsId": "s0",
        "recipient": "+4915799912345",
        "message": "Frohe",
        "sendAt": expected,
    }
    assert type(request.json["sendAt"]) is int


async def test_naive_time_is_in_home_assistants_zone(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    sandbox: SipgateSandbox,
) -> None:
    """The same wall-clock time in two zones gives two different instants."""
    freezer.move_to(NOW)
    sandbox.clock = lambda: NOW_EPOCH
    await hass.config.async_set_time_zone("Asia/Kolkata")  # UTC+05:30
    await send_sms(
        hass,
        {"recipient": "+4915799912345", "message": "a", "send_at": "2026-12-24 18:00"},
    )
    await hass.config.async_set_time_zone("America/New_York")  # UTC-05:00
    await send_sms(
        hass,
        {
            "recipient": "+4915799912345",
            "message": "b",
            "send_at": datetime(2026, 12, 24, 18, 0),  # noqa: DTZ001 - naive
        },
    )
    sent = [request.json["sendAt"] for request in sandbox.requests_to("POST", SMS)]
    assert sent == [1798135200 - 19800, 1798135200 + 18000]


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    ("send_at", "accepted"),
    [
        (NOW - timedelta(seconds=1), False),
        (NOW, False),
        # Sent as the next full second: never as now, which sipgate refuses.
        (NOW + timedelta(microseconds=1), True),
        (NOW + timedelta(seconds=1), True),
        (NOW + timedelta(days=30), True),
        (NOW + timedelta(days=30, microseconds=1), False),
        (NOW + timedelta(days=30, seconds=1), False),
        (NOW + timedelta(days=365), False),
        ("2026-12-01 13:00:00", False),  # 12:00 UTC in Berlin
        ("2026-12-01 13:00:01", True),
        ("2026-12-31 13:00:00", True),
        ("2026-12-31 13:00:01", False),
    ],
)
async def test_send_at_range(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: SipgateSandbox,
    send_at: datetime | str,
    accepted: bool,
) -> None:
    """Only a time after now and at most 30 days ahead is sent."""
    await hass.config.async_set_time_zone("Europe/Berlin")
    freezer.move_to(NOW)
    sandbox.clock = lambda: NOW_EPOCH
    data = {"recipient": "+4915799912345", "message": "x", "send_at": send_at}
    if accepted:
        await send_sms(hass, data)
        (request,) = sandbox.requests_to("POST", SMS)
        assert NOW_EPOCH < request.json["sendAt"] <= NOW_EPOCH + THIRTY_DAYS
        assert len(sandbox.sms) == 1
        return
    with pytest.raises(ServiceValidationError) as excinfo:
        await send_sms(hass, data)
    assert excinfo.value.translation_domain == DOMAIN
    assert excinfo.value.translation_key == "send_at_out_of_range"
    assert excinfo.value.translation_placeholders == {"value": str(send_at)}
    assert not sandbox.requests_to("POST", SMS)
    (notification,) = notifications(hass).values()
    assert notification["title"] == "SMS to +4915799912345 failed"
    assert notification["message"] == (
        f"The SMS cannot be sent at {send_at}: the time must be in the future "
        "and at most 30 days ahead."
    )


@pytest.mark.usefixtures("init_integration")
async def test_no_send_at(hass: HomeAssistant, sandbox: SipgateSandbox) -> None:
    """Without a time to send, the body has no sendAt."""
    await send_sms(hass, {"recipient": "+4915799912345", "message": "jetzt"})
    (request,) = sandbox.requests_to("POST", SMS)
    assert "sendAt" not in request.json
    assert request.json == {
        "smsId": "s0",
        "recipient": "+4915799912345",
        "message": "jetzt",
    }


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    ("data", "key", "placeholders"),
    [
        ({"message": ""}, "invalid_message", None),
        ({"message": "   \n\t "}, "invalid_message", None),
        ({"message": None}, "invalid_message", None),
        ({"message": 123}, "not_text", {"field": "message", "value": "123"}),
        ({"message": ["a"]}, "not_text", {"field": "message", "value": "['a']"}),
        (
            {"recipient": "call mum"},
            "invalid_recipient",
            {"field": "recipient", "value": "call mum"},
        ),
        ({"recipient": ""}, "invalid_recipient", {"field": "recipient", "value": ""}),
        (
            {"recipient": None},
            "invalid_recipient",
            {"field": "recipient", "value": ""},
        ),
        (
            {"recipient": "+123456"},
            "invalid_recipient",
            {"field": "recipient", "value": "+123456"},
        ),
        (
            {"recipient": 35956526},
            "not_text",
            {"field": "recipient", "value": "35956526"},
        ),
        (
            {"recipient": 4915799912345},
            "not_text",
            {"field": "recipient", "value": "4915799912345"},
        ),
        (
            {"recipient": "492111234567"},
            "ambiguous_number",
            {"field": "recipient", "value": "492111234567"},
        ),
        ({"sms_id": "e0"}, "invalid_sms_id", {"field": "sms_id", "value": "e0"}),
        ({"sms_id": "x"}, "invalid_sms_id", {"field": "sms_id", "value": "x"}),
        ({"sms_id": "s"}, "invalid_sms_id", {"field": "sms_id", "value": "s"}),
        ({"sms_id": ""}, "invalid_sms_id", {"field": "sms_id", "value": ""}),
        ({"sms_id": 0}, "not_text", {"field": "sms_id", "value": "0"}),
        (
            {"send_at": "next tuesday"},
            "invalid_send_at",
            {"value": "next tuesday"},
        ),
        ({"send_at": ""}, "invalid_send_at", {"value": ""}),
        (
            {"send_at": "24.12.2026 18:00"},
            "invalid_send_at",
            {"value": "24.12.2026 18:00"},
        ),
        (
            {"send_at": "2026-13-45 18:00:00"},
            "invalid_send_at",
            {"value": "2026-13-45 18:00:00"},
        ),
        (
            {"send_at": "2026-02-30T10:00"},
            "invalid_send_at",
            {"value": "2026-02-30T10:00"},
        ),
        ({"send_at": 1798131600}, "invalid_send_at", {"value": "1798131600"}),
        ({"send_at": None}, "invalid_send_at", {"value": ""}),
    ],
)
async def test_invalid_input(
    hass: HomeAssistant,
    sandbox: SipgateSandbox,
    data: dict[str, Any],
    key: str,
    placeholders: dict[str, str] | None,
) -> None:
    """Bad input raises a translated error, notifies, and sends nothing."""
    data = {"recipient": "+4915799912345", "message": "Hallo", **data}
    with pytest.raises(ServiceValidationError) as excinfo:
        await send_sms(hass, data)
    assert excinfo.value.translation_domain == DOMAIN
    assert excinfo.value.translation_key == key
    assert excinfo.value.translation_placeholders == placeholders
    assert not sandbox.requests_to("POST", SMS)
    assert not sandbox.sms
    (notification,) = notifications(hass).values()
    recipient = "" if data["recipient"] is None else str(data["recipient"])
    assert notification["title"] == f"SMS to {recipient} failed"
    # Home Assistant drops the final full stop of exception messages.
    assert notification["message"] == f"{excinfo.value}."


@pytest.mark.usefixtures("init_integration")
async def test_invalid_message_words(hass: HomeAssistant) -> None:
    """A blank message and a number as message are told apart."""
    with pytest.raises(ServiceValidationError) as excinfo:
        await send_sms(hass, {"recipient": "+4915799912345", "message": " "})
    assert str(excinfo.value) == "The message is empty. Write the text of the SMS"
    with pytest.raises(ServiceValidationError) as excinfo:
        await send_sms(hass, {"recipient": "+4915799912345", "message": 123})
    assert str(excinfo.value).startswith("message must be text, but arrived as 123")


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "(?:recipient|message)"),  # either is named first
        ({"message": "Hallo"}, "recipient"),
        ({"recipient": "+4915799912345"}, "message"),
        (
            {"recipient": "+4915799912345", "message": "Hallo", "sendat": "x"},
            "sendat",
        ),
    ],
)
async def test_schema(
    hass: HomeAssistant, sandbox: SipgateSandbox, data: dict[str, Any], field: str
) -> None:
    """Without a recipient or message, or with a misspelt field, it is refused."""
    # probatio says "at 'recipient'", voluptuous "@ data['recipient']".
    with pytest.raises(vol.Invalid, match=rf"(?:at |data\[)'{field}'"):
        await send_sms(hass, data)
    assert not sandbox.requests_to("POST", SMS)


def _sandbox_in_the_future(sandbox: SipgateSandbox) -> None:
    """Make the sandbox's clock 40 days ahead: a valid sendAt is past to it."""
    sandbox.clock = lambda: dt_util.utcnow().timestamp() + 40 * 24 * 60 * 60


# A scenario of the sandbox; "clock_ahead" sets its clock 40 days ahead and
# sends the SMS with a time a day ahead, which sipgate then finds past (400).
@pytest.mark.parametrize(
    ("scenario", "data", "key", "placeholders", "words"),
    [
        (
            {"clock_ahead": True},
            {},
            "sms_bad_request",
            {"status": "400"},
            "sipgate rejected the SMS as invalid (status 400)",
        ),
        (
            {"balance": 0},
            {},
            "insufficient_funds",
            {"status": "402"},
            "Top up your sipgate balance",
        ),
        (
            {},
            {"sms_id": "s1"},
            "sms_forbidden",
            {"status": "403"},
            "the token may lack the scope sessions:sms:write",
        ),
        (
            {"token_valid": False},
            {},
            "auth_failed",
            {"status": "401"},
            "re-enter the token ID and token",
        ),
        (
            {"rate_limit": 30},
            {},
            "rate_limited_retry_after",
            {"status": "429", "retry_after": "30"},
            "Try again in 30 seconds",
        ),
        (
            {"server_error": 503},
            {},
            "server_error",
            {"status": "503"},
            "status 503",
        ),
        (
            {"server_error": 500},
            {},
            "server_error",
            {"status": "500"},
            "status 500",
        ),
        (
            {"delay": 0.3},
            {},
            "timeout",
            {"status": "None"},
            "The request was sent, but sipgate did not answer in time",
        ),
        (
            {"drop_connection": True},
            {},
            "no_answer",
            {"status": "None"},
            "the connection to sipgate broke",
        ),
    ],
)
async def test_api_errors(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    sandbox: SipgateSandbox,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    issue_registry: ir.IssueRegistry,
    scenario: dict[str, Any],
    data: dict[str, str],
    key: str,
    placeholders: dict[str, str],
    words: str,
) -> None:
    """Sipgate's refusals reach the user once; the next success clears them."""
    monkeypatch.setattr(
        init_integration.runtime_data.client, "_timeout", ClientTimeout(total=0.1)
    )
    sms: dict[str, Any] = {"recipient": "+4915799912345", "message": "Hallo"}
    for name, value in scenario.items():
        if name == "clock_ahead":
            _sandbox_in_the_future(sandbox)
            data = {"send_at": dt_util.utcnow() + timedelta(days=1)}
        else:
            setattr(sandbox.scenario, name, value)
    with pytest.raises(HomeAssistantError) as excinfo:
        await send_sms(hass, {**sms, **data})
    assert not isinstance(excinfo.value, ServiceValidationError)
    assert excinfo.value.translation_domain == DOMAIN
    assert excinfo.value.translation_key == key
    assert excinfo.value.translation_placeholders == placeholders
    assert words in str(excinfo.value)
    assert len(sandbox.requests_to("POST", SMS)) == 1
    assert not sandbox.sms
    key_of_entry = notification_id(init_integration.entry_id)
    assert list(notifications(hass)) == [key_of_entry]
    notification = notifications(hass)[key_of_entry]
    assert notification["title"] == "SMS to +4915799912345 failed"
    assert notification["message"] == f"{excinfo.value}."
    assert words in notification["message"]
    for text in (
        str(excinfo.value),
        notification["title"],
        notification["message"],
        caplog.text,
    ):
        assert TOKEN.token not in text
        assert TOKEN.token_id not in text
    assert not sipgate_issues(issue_registry)
    assert init_integration.runtime_data.requests_failed == 1
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == (
        [SOURCE_REAUTH] if key == "auth_failed" else []
    )

    sandbox.scenario = type(sandbox.scenario)()
    sandbox.clock = lambda: dt_util.utcnow().timestamp()
    await send_sms(hass, sms)
    assert len(sandbox.requests_to("POST", SMS)) == 2
    assert sandbox.sms == [{"smsId": "s0", **sms}]
    assert notifications(hass) == {}


async def test_forbidden_without_sms_scope(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    sandbox: SipgateSandbox,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A token without sessions:sms:write: 403 in SMS words, no repair issue."""
    mock_config_entry.add_to_hass(hass)
    use_token(hass, mock_config_entry, TOKEN_NO_SMS_SEND)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    with pytest.raises(HomeAssistantError) as excinfo:
        await send_sms(hass, {"recipient": "+4915799912345", "message": "Hallo"})
    assert excinfo.value.translation_key == "sms_forbidden"
    assert "sessions:sms:write" in str(excinfo.value)
    (request,) = sandbox.requests_to("POST", SMS)
    assert request.headers["Authorization"] == TOKEN_NO_SMS_SEND.authorization
    assert not sandbox.sms
    (notification,) = notifications(hass).values()
    assert notification["title"] == "SMS to +4915799912345 failed"
    assert not sipgate_issues(issue_registry)
    await hass.async_block_till_done()
    assert not hass.config_entries.flow.async_progress()


@pytest.fixture
def canned_entry(
    stand_in_entry: StandInEntry,
) -> Callable[[int, dict[str, str]], Awaitable[tuple[MockConfigEntry, list[Any]]]]:
    """Return a loaded entry whose SMS get one fixed answer, and the bodies."""

    async def make(
        status: int, headers: dict[str, str]
    ) -> tuple[MockConfigEntry, list[Any]]:
        bodies: list[Any] = []

        async def sms(request: web.Request) -> web.Response:
            bodies.append(await request.json())
            return web.Response(status=status, headers=headers)

        entry = await stand_in_entry({"POST /v2/sessions/sms": sms})
        return entry, bodies

    return make


@pytest.mark.parametrize("status", [200, 201, 202, 204])
async def test_any_success_status(
    hass: HomeAssistant,
    canned_entry: Callable[
        [int, dict[str, str]], Awaitable[tuple[MockConfigEntry, list[Any]]]
    ],
    status: int,
) -> None:
    """Any 2xx answer is a sent SMS, whatever its body."""
    entry, bodies = await canned_entry(status, {})
    await send_sms(hass, {"recipient": "0211 123456", "message": "Hallo"})
    assert bodies == [{"smsId": "s0", "recipient": "0211123456", "message": "Hallo"}]
    assert entry.runtime_data.requests_succeeded == 1
    assert notifications(hass) == {}


@pytest.mark.parametrize(
    ("status", "headers", "key", "words"),
    [
        (429, {}, "rate_limited", "Wait a little before you try again"),
        (429, {"Retry-After": "soon"}, "rate_limited", "Wait a little"),
        (429, {"Retry-After": "7"}, "rate_limited_retry_after", "Try again in 7"),
        (404, {}, "request_rejected", "status 404"),
        (502, {}, "server_error", "status 502"),
    ],
)
async def test_other_answers(
    hass: HomeAssistant,
    canned_entry: Callable[
        [int, dict[str, str]], Awaitable[tuple[MockConfigEntry, list[Any]]]
    ],
    status: int,
    headers: dict[str, str],
    key: str,
    words: str,
) -> None:
    """429 without a usable Retry-After and other answers; sent once each."""
    entry, bodies = await canned_entry(status, headers)
    with pytest.raises(HomeAssistantError) as excinfo:
        await send_sms(hass, {"recipient": "+4915799912345", "message": "Hallo"})
    assert excinfo.value.translation_key == key
    assert words in str(excinfo.value)
    assert len(bodies) == 1
    notification = notifications(hass)[notification_id(entry.entry_id)]
    assert notification["title"] == "SMS to +4915799912345 failed"
    assert words in notification["message"]


async def test_sms_leaves_the_call_issue(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    sandbox: SipgateSandbox,
    issue_registry: ir.IssueRegistry,
) -> None:
    """An SMS proves nothing about calls: it neither raises nor clears the issue."""
    issue_id = forbidden_issue_id(init_integration.entry_id)
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            DOMAIN,
            "initiate_call",
            {"callee": "+49211123456", "caller": "e9"},
            blocking=True,
        )
    assert sipgate_issues(issue_registry) == [issue_id]

    sms = {"recipient": "+4915799912345", "message": "Hallo"}
    with pytest.raises(HomeAssistantError) as excinfo:
        await send_sms(hass, {**sms, "sms_id": "s1"})
    assert excinfo.value.translation_key == "sms_forbidden"
    assert sipgate_issues(issue_registry) == [issue_id]
    sandbox.scenario.balance = 0
    with pytest.raises(HomeAssistantError):
        await send_sms(hass, sms)
    assert sipgate_issues(issue_registry) == [issue_id]
    (notification,) = notifications(hass).values()
    assert notification["title"] == "SMS to +4915799912345 failed"

    sandbox.scenario.balance = 100
    await send_sms(hass, sms)
    assert notifications(hass) == {}
    assert sipgate_issues(issue_registry) == [issue_id]

    # A call that goes through still clears it.
    await hass.services.async_call(
        DOMAIN, "initiate_call", {"callee": "+49211123456"}, blocking=True
    )
    assert sipgate_issues(issue_registry) == []


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    ("failure", "reads"),
    [
        (None, 2),
        ({"balance": 0}, 2),
        ({"sms_id": "s1"}, 1),
        ({"send_at": "past"}, 1),
    ],
)
async def test_balance_read_again(
    hass: HomeAssistant,
    sandbox: SipgateSandbox,
    failure: dict[str, Any] | None,
    reads: int,
) -> None:
    """A sent SMS and a refusal for the balance read it again; others do not."""
    assert len(sandbox.requests_to("GET", BALANCE)) == 1
    sms: dict[str, Any] = {"recipient": "+4915799912345", "message": "Hallo"}
    if failure is None:
        await send_sms(hass, sms)
    else:
        if "balance" in failure:
            sandbox.scenario.balance = failure["balance"]
        elif "sms_id" in failure:
            sms["sms_id"] = failure["sms_id"]
        else:
            _sandbox_in_the_future(sandbox)
            sms["send_at"] = dt_util.utcnow() + timedelta(days=1)
        with pytest.raises(HomeAssistantError):
            await send_sms(hass, sms)
        assert len(sandbox.requests_to("POST", SMS)) == 1
    await hass.async_block_till_done()
    assert len(sandbox.requests_to("GET", BALANCE)) == reads
    if failure == {"balance": 0}:
        state = hass.states.get("sensor.sipgate_1234567w0_balance")
        assert state is not None
        assert Decimal(state.state) == 0


@pytest.fixture
async def other_account(
    hass: HomeAssistant, socket_enabled: None
) -> AsyncGenerator[tuple[MockConfigEntry, SipgateSandbox]]:
    """Set up a second account, served by a sandbox of its own."""
    other = SipgateSandbox()
    server = TestServer(other.create_app(), host="127.0.0.1")
    await server.start_server()
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="sipgate 1234567w9",
        unique_id="1234567w9",
        data={**entry_for(str(server.make_url("/v2"))).data},
        options={"device_id": "y0"},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    yield entry, other
    await server.close()


async def test_choosing_between_accounts(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    other_account: tuple[MockConfigEntry, SipgateSandbox],
    sandbox: SipgateSandbox,
) -> None:
    """With two accounts the SMS needs one, and goes out through that one."""
    entry, other = other_account
    sms = {"recipient": "+4915799912345", "message": "Hallo"}
    with pytest.raises(ServiceValidationError) as excinfo:
        await send_sms(hass, sms)
    assert excinfo.value.translation_domain == DOMAIN
    assert excinfo.value.translation_key == "entry_required"
    (notification,) = notifications(hass).values()
    assert notification is notifications(hass)[ACCOUNTLESS]
    assert notification["title"] == "SMS to +4915799912345 failed"
    assert "config_entry_id in YAML" in notification["message"]
    assert not sandbox.requests_to("POST", SMS)
    assert not other.requests_to("POST", SMS)

    await send_sms(hass, {**sms, "config_entry_id": entry.entry_id})
    assert not sandbox.requests_to("POST", SMS)
    (request,) = other.requests_to("POST", SMS)
    assert request.json == {"smsId": "s0", **sms}
    assert notifications(hass) == {}

    other.scenario.balance = 0
    with pytest.raises(HomeAssistantError):
        await send_sms(hass, {**sms, "config_entry_id": entry.entry_id})
    assert list(notifications(hass)) == [notification_id(entry.entry_id)]
    await send_sms(hass, {**sms, "config_entry_id": init_integration.entry_id})
    assert len(sandbox.requests_to("POST", SMS)) == 1
    assert len(other.requests_to("POST", SMS)) == 2
    # A success of one account leaves the other's notification.
    assert list(notifications(hass)) == [notification_id(entry.entry_id)]


@pytest.fixture
async def contact_sms(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> str:
    """Add the contact Oma Erna and return the id of her SMS entity."""
    subentry = ConfigSubentry(
        data=MappingProxyType({"number": "+4921112345678"}),
        subentry_type="contact",
        title="Oma Erna",
        unique_id="+4921112345678",
    )
    assert hass.config_entries.async_add_subentry(init_integration, subentry)
    await hass.async_block_till_done()
    entity_id = entity_registry.async_get_entity_id(
        "notify", DOMAIN, f"{MASTER_SIP_ID}w0_{subentry.subentry_id}_sms"
    )
    assert entity_id == "notify.oma_erna_sms"
    assert hass.states.get(entity_id) is not None
    return entity_id


async def notify(hass: HomeAssistant, entity_id: str, **data: str) -> None:
    """Perform notify.send_message for the entity and wait for it."""
    await hass.services.async_call(
        "notify", "send_message", {"entity_id": entity_id, **data}, blocking=True
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"message": "Ich komme um 5."}, "Ich komme um 5."),
        (
            {"message": "Ich komme um 5.", "title": "Hallo Oma"},
            "Hallo Oma\nIch komme um 5.",
        ),
        ({"message": "Zeile 1\nZeile 2 🌷", "title": ""}, "Zeile 1\nZeile 2 🌷"),
        ({"message": "Hallo", "title": "  "}, "Hallo"),
    ],
)
async def test_notify_entity(
    hass: HomeAssistant,
    contact_sms: str,
    sandbox: SipgateSandbox,
    data: dict[str, str],
    message: str,
) -> None:
    """The contact's SMS entity sends one SMS; a title is its first line."""
    await notify(hass, contact_sms, **data)
    (request,) = sandbox.requests_to("POST", SMS)
    assert request.json == {
        "smsId": "s0",
        "recipient": "+4921112345678",
        "message": message,
    }
    state = hass.states.get(contact_sms)
    assert state is not None
    assert dt_util.parse_datetime(state.state) is not None
    # The actions form offers the title.
    assert state.attributes["supported_features"] == 1


async def test_notify_entity_failure(
    hass: HomeAssistant, contact_sms: str, sandbox: SipgateSandbox
) -> None:
    """A refused SMS of the entity is raised and shown like the action's."""
    sandbox.scenario.balance = 0
    with pytest.raises(HomeAssistantError) as excinfo:
        await notify(hass, contact_sms, message="Hallo", title="Oma")
    assert excinfo.value.translation_domain == DOMAIN
    assert excinfo.value.translation_key == "insufficient_funds"
    (request,) = sandbox.requests_to("POST", SMS)
    assert request.json["message"] == "Oma\nHallo"
    (notification,) = notifications(hass).values()
    assert notification["title"] == "SMS to +4921112345678 failed"
    assert "Top up your sipgate balance" in notification["message"]
    sandbox.scenario.balance = 100
    await notify(hass, contact_sms, message="Hallo")
    assert len(sandbox.requests_to("POST", SMS)) == 2
    assert notifications(hass) == {}


async def test_notify_entity_blank_message(
    hass: HomeAssistant, contact_sms: str, sandbox: SipgateSandbox
) -> None:
    """A blank message of the entity is refused before any request."""
    with pytest.raises(ServiceValidationError) as excinfo:
        await notify(hass, contact_sms, message=" ")
    assert excinfo.value.translation_key == "invalid_message"
    assert not sandbox.requests_to("POST", SMS)


async def test_logs_no_secrets(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    sandbox: SipgateSandbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nothing the user or the log sees of a failed SMS names the token."""
    caplog.set_level(logging.DEBUG)
    sandbox.scenario.server_error = 502
    with pytest.raises(HomeAssistantError) as excinfo:
        await send_sms(hass, {"recipient": "+4915799912345", "message": "Hallo"})
    cause = excinfo.value.__cause__
    assert cause is not None
    texts = [str(excinfo.value), repr(cause), str(cause), caplog.text]
    for notification in notifications(hass).values():
        texts += [notification["title"], notification["message"]]
    for text in texts:
        for secret in (TOKEN.token, TOKEN.token_id, TOKEN.authorization):
            assert secret not in text


@pytest.mark.usefixtures("init_integration")
async def test_broken_character_in_the_message(
    hass: HomeAssistant, sandbox: SipgateSandbox
) -> None:
    """Half a character pair (from a template) is refused, not a traceback."""
    with pytest.raises(ServiceValidationError) as excinfo:
        await send_sms(hass, {"recipient": "+4915799912345", "message": "a\ud800b"})
    assert excinfo.value.translation_domain == DOMAIN
    assert excinfo.value.translation_key == "message_not_encodable"
    assert not sandbox.requests_to("POST", SMS)
