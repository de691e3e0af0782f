"""Call events from sipgate.io pushes: the entities, expiry and the hang-up."""

from collections.abc import Callable
from datetime import timedelta
import logging
from typing import Any
from urllib.parse import urlencode

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.sipgate import calls as calls_module, push_receiver
from custom_components.sipgate.calls import (
    ACTIVE_CHECK_INTERVAL,
    RINGING_LIMIT,
    TALKING_LIMIT,
)
from custom_components.sipgate.const import CONF_PUSH_PUBLIC_KEY, DOMAIN, LOGGER
from custom_components.sipgate.push import parse
from homeassistant.const import CONF_WEBHOOK_ID, STATE_UNAVAILABLE
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event
from sipgate_lab.sandbox import TOKEN_NO_DEVICES, SimulatedCall, SipgateSandbox

from .conftest import entry_for

EVENT = "event.sipgate_1234567w0_calls"
STATE = "sensor.sipgate_1234567w0_call_state"
BUTTON = "button.sipgate_1234567w0_hang_up"
# In the sandbox's contacts as "Oma Erna".
GRANDMA = "4921112345678"


async def settle(hass: HomeAssistant) -> None:
    """Wait until the pushes are handled (in the entry's background tasks)."""
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.fixture
def events(hass: HomeAssistant) -> list[tuple[str, dict[str, Any]]]:
    """Collect the call events of the Calls entity: type and attributes."""
    seen: list[tuple[str, dict[str, Any]]] = []

    @callback
    def changed(event: Event[EventStateChangedData]) -> None:
        state = event.data["new_state"]
        if state is not None and state.attributes.get("event_type") is not None:
            attributes = dict(state.attributes)
            seen.append((attributes.pop("event_type"), attributes))

    async_track_state_change_event(hass, [EVENT], changed)
    return seen


def debug_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Return the integration's debug messages."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == LOGGER.name and record.levelno == logging.DEBUG
    ]


def call_attributes(event: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """Return an event's call attributes, without the entity's own."""
    return {
        key: value
        for key, value in event[1].items()
        if key not in {"event_types", "friendly_name", "icon"}
    }


async def test_incoming_call_answered_and_ended(
    hass: HomeAssistant,
    push_url: str,
    sandbox: SipgateSandbox,
    events: list[tuple[str, dict[str, Any]]],
) -> None:
    """Ringing with the caller's name, talking, then idle; three events."""
    call = await sandbox.simulate_call(push_url, from_=GRANDMA, hangup="on_delete")
    await settle(hass)
    assert [push.status for push in call.pushes] == [200, 200]
    new_call = call.pushes[0]
    assert new_call.content_type == "application/xml; charset=utf-8"
    assert call.on_answer == call.on_hangup == push_url
    state = hass.states.get(STATE)
    assert state is not None
    assert state.state == "talking"
    assert state.attributes["call_id"] == call.call_id
    assert state.attributes["direction"] == "incoming"
    assert state.attributes["from"] == "+4921112345678"
    assert state.attributes["to"] == "+4921199990"
    assert state.attributes["caller_name"] == "Oma Erna"
    assert state.attributes["active_calls"] == 1
    button = hass.states.get(BUTTON)
    assert button is not None
    assert button.state != STATE_UNAVAILABLE

    await hass.services.async_call(
        "button", "press", {"entity_id": BUTTON}, blocking=True
    )
    await sandbox.wait_for_pushes()
    await settle(hass)
    assert [
        request.method for request in sandbox.requests if "/calls/" in request.path
    ] == ["DELETE"]
    assert hass.states.get(STATE).state == "idle"  # type: ignore[union-attr]
    assert hass.states.get(BUTTON).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    common = {
        "call_id": call.call_id,
        "direction": "incoming",
        "from": "+4921112345678",
        "to": "+4921199990",
        "caller_name": "Oma Erna",
    }
    assert [(kind, call_attributes((kind, attrs))) for kind, attrs in events] == [
        ("incoming", common),
        ("answered", {**common, "answered_by": "Erika Mustermann"}),
        (
            "ended",
            {**common, "cause": "normalClearing", "answered_by": "Erika Mustermann"},
        ),
    ]


async def test_missed_call(
    hass: HomeAssistant,
    push_url: str,
    sandbox: SipgateSandbox,
    events: list[tuple[str, dict[str, Any]]],
) -> None:
    """An incoming call that ends unanswered is missed; unknown caller."""
    call = await sandbox.simulate_call(push_url, answer=False, cause="cancel")
    await settle(hass)
    assert call.events == ["newCall", "hangup"]
    assert [kind for kind, _ in events] == ["incoming", "missed"]
    assert call_attributes(events[1]) == {
        "call_id": call.call_id,
        "direction": "incoming",
        "from": "+492111234567",
        "to": "+4921199990",
        "caller_name": None,
        "cause": "cancel",
        "answered_by": None,
    }
    assert hass.states.get(STATE).state == "idle"  # type: ignore[union-attr]


async def test_outgoing_call(
    hass: HomeAssistant,
    push_url: str,
    sandbox: SipgateSandbox,
    events: list[tuple[str, dict[str, Any]]],
) -> None:
    """An outgoing call dials, is answered and ends; named by the callee."""
    call = await sandbox.simulate_call(
        push_url,
        direction="out",
        from_="4921199990",
        to="4915799912345",
        hangup="on_delete",
    )
    await settle(hass)
    state = hass.states.get(STATE)
    assert state is not None
    assert state.state == "talking"
    assert state.attributes["direction"] == "outgoing"
    assert state.attributes["caller_name"] == "Nachbar Klaus"
    await hass.services.async_call(
        "button", "press", {"entity_id": BUTTON}, blocking=True
    )
    await sandbox.wait_for_pushes()
    await settle(hass)
    assert [kind for kind, _ in events] == ["outgoing", "answered", "ended"]
    assert events[-1][1]["call_id"] == call.call_id
    assert events[-1][1]["direction"] == "outgoing"


async def test_dialing_then_ringing_states(
    hass: HomeAssistant, push_url: str, sandbox: SipgateSandbox
) -> None:
    """Before the answer, outgoing calls dial and incoming calls ring."""
    await sandbox.simulate_call(
        push_url, direction="out", answer=False, hangup="on_delete"
    )
    await settle(hass)
    assert hass.states.get(STATE).state == "dialing"  # type: ignore[union-attr]
    await sandbox.simulate_call(push_url, answer=False, hangup="on_delete")
    await settle(hass)
    state = hass.states.get(STATE)
    assert state is not None
    # The current call is the one that started last.
    assert state.state == "ringing"
    assert state.attributes["active_calls"] == 2


async def test_anonymous_caller(
    hass: HomeAssistant,
    push_url: str,
    sandbox: SipgateSandbox,
    events: list[tuple[str, dict[str, Any]]],
) -> None:
    """An anonymous caller has no number and is not looked up."""
    await sandbox.simulate_call(push_url, from_="anonymous", users=("",), answer=False)
    await settle(hass)
    assert events[0][1]["from"] is None
    assert events[0][1]["caller_name"] is None
    assert not sandbox.requests_to("GET", "/v2/contacts")


async def test_a_push_is_answered_before_what_follows_runs(
    hass: HomeAssistant, push_entry: MockConfigEntry, sandbox: SipgateSandbox
) -> None:
    """Taking a push starts no work at once: the webhook answers first.

    An anonymous newCall needs no name lookup, so nothing would make its
    handling wait; still it runs only once the event loop gets to it.
    """
    calls = push_entry.runtime_data.calls
    fields = SimulatedCall(url="", from_="anonymous").new_call_fields()
    calls.async_handle(parse(urlencode(fields).encode()))
    assert calls.calls == {}
    assert hass.states.get(STATE).state == "idle"  # type: ignore[union-attr]
    await settle(hass)
    assert hass.states.get(STATE).state == "ringing"  # type: ignore[union-attr]


async def test_names_are_cached(
    hass: HomeAssistant,
    push_url: str,
    sandbox: SipgateSandbox,
    events: list[tuple[str, dict[str, Any]]],
) -> None:
    """A number is looked up once; unknown numbers are remembered too."""
    for caller in (GRANDMA, GRANDMA, "492110000000", "492110000000"):
        await sandbox.simulate_call(push_url, from_=caller, answer=False)
        await settle(hass)
    assert len(sandbox.requests_to("GET", "/v2/contacts")) == 2
    # The name from the cache is the one sipgate gave.
    assert [attrs["caller_name"] for kind, attrs in events if kind == "incoming"] == [
        "Oma Erna",
        "Oma Erna",
        None,
        None,
    ]


@pytest.mark.parametrize(
    ("scenario", "error"),
    [({"delay": 1.0}, "TimeoutError"), ({"server_error": 503}, "SipgateServerError")],
)
async def test_slow_or_failing_name_lookup(
    hass: HomeAssistant,
    push_url: str,
    sandbox: SipgateSandbox,
    events: list[tuple[str, dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    scenario: dict[str, Any],
    error: str,
) -> None:
    """The event waits at most NAME_TIMEOUT for a name; failures give none.

    The debug log names the kind of failure.
    """
    caplog.set_level(logging.DEBUG, logger=LOGGER.name)
    monkeypatch.setattr(calls_module, "NAME_TIMEOUT", 0.1)
    for name, value in scenario.items():
        setattr(sandbox.scenario, name, value)
    await sandbox.simulate_call(push_url, from_=GRANDMA, answer=False)
    await settle(hass)
    assert [kind for kind, _ in events] == ["incoming", "missed"]
    assert events[0][1]["caller_name"] is None
    assert f"No caller name from sipgate: {error}" in debug_messages(caplog)


async def test_without_contacts_scope(
    hass: HomeAssistant,
    sandbox: SipgateSandbox,
    sandbox_url: str,
    hass_client_no_auth: Callable[[], Any],
    events: list[tuple[str, dict[str, Any]]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A token without contacts:read gives no names, no errors, one try."""
    caplog.set_level(logging.DEBUG, logger=LOGGER.name)
    entry = entry_for(sandbox_url)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry,
        data={
            **entry.data,
            "token_id": TOKEN_NO_DEVICES.token_id,
            "token": TOKEN_NO_DEVICES.token,
        },
        options={**entry.options, CONF_PUSH_PUBLIC_KEY: sandbox.push_public_key_pem},
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    client = await hass_client_no_auth()
    base = str(client.make_url("/")).rstrip("/")
    await hass.config.async_update(external_url=base)
    url = f"{base}/api/webhook/{entry.data[CONF_WEBHOOK_ID]}"
    for _ in range(2):
        await sandbox.simulate_call(url, from_=GRANDMA, answer=False)
    await settle(hass)
    assert [kind for kind, _ in events] == ["incoming", "missed", "incoming", "missed"]
    assert all(attrs["caller_name"] is None for _, attrs in events)
    assert len(sandbox.requests_to("GET", "/v2/contacts")) == 1
    assert (
        debug_messages(caplog).count("The token may not read contacts (contacts:read)")
        == 1
    )


async def test_lost_hangup_of_a_ringing_call_expires(
    hass: HomeAssistant,
    push_url: str,
    sandbox: SipgateSandbox,
    events: list[tuple[str, dict[str, Any]]],
    freezer: FrozenDateTimeFactory,
) -> None:
    """A ringing call whose hangup never comes ends after RINGING_LIMIT."""
    await sandbox.simulate_call(push_url, answer=False, hangup="drop")
    await settle(hass)
    assert hass.states.get(STATE).state == "ringing"  # type: ignore[union-attr]
    freezer.tick(RINGING_LIMIT - timedelta(seconds=1))
    async_fire_time_changed(hass)
    await settle(hass)
    assert hass.states.get(STATE).state == "ringing"  # type: ignore[union-attr]
    freezer.tick(timedelta(seconds=2))
    async_fire_time_changed(hass)
    await settle(hass)
    assert hass.states.get(STATE).state == "idle"  # type: ignore[union-attr]
    assert events[-1][0] == "missed"
    assert events[-1][1]["cause"] == "expired"


async def test_lost_hangup_of_a_call_in_talk_expires(
    hass: HomeAssistant,
    push_url: str,
    sandbox: SipgateSandbox,
    events: list[tuple[str, dict[str, Any]]],
    freezer: FrozenDateTimeFactory,
) -> None:
    """Answered, the hangup lost: sipgate lists no call any more, it ends."""
    call = await sandbox.simulate_call(push_url, hangup="drop")
    await settle(hass)
    assert hass.states.get(STATE).state == "talking"  # type: ignore[union-attr]
    # The sandbox forgot the call: GET /v2/calls lists none.
    assert call.state == "ended"
    freezer.tick(ACTIVE_CHECK_INTERVAL)
    async_fire_time_changed(hass)
    await settle(hass)
    assert sandbox.requests_to("GET", "/v2/calls")
    assert hass.states.get(STATE).state == "idle"  # type: ignore[union-attr]
    assert events[-1][0] == "ended"
    assert events[-1][1]["cause"] == "expired"


async def test_call_in_talk_stays_while_sipgate_lists_calls(
    hass: HomeAssistant,
    push_url: str,
    sandbox: SipgateSandbox,
    freezer: FrozenDateTimeFactory,
) -> None:
    """While sipgate lists established calls, a talking call stays, up to the limit."""
    await sandbox.simulate_call(push_url, hangup="on_delete")
    await settle(hass)
    for _ in range(3):
        freezer.tick(ACTIVE_CHECK_INTERVAL)
        async_fire_time_changed(hass)
        await settle(hass)
    assert len(sandbox.requests_to("GET", "/v2/calls")) == 3
    assert hass.states.get(STATE).state == "talking"  # type: ignore[union-attr]
    freezer.tick(TALKING_LIMIT)
    async_fire_time_changed(hass)
    await settle(hass)
    assert hass.states.get(STATE).state == "idle"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("direction", "caller", "callee", "answering", "answered_by"),
    [
        ("out", "4921199990", "492111234567", "492111234567", "+492111234567"),
        ("in", "492111234567", "4921199990", None, None),
    ],
    ids=["outgoing", "incoming"],
)
async def test_answer_of_a_call_that_began_before_the_start(
    hass: HomeAssistant,
    push_url: str,
    sandbox: SipgateSandbox,
    events: list[tuple[str, dict[str, Any]]],
    direction: str,
    caller: str,
    callee: str,
    answering: str | None,
    answered_by: str | None,
) -> None:
    """An answer without its newCall (Home Assistant started in between).

    The call keeps the direction of the answer.
    """
    fields = [
        ("event", "answer"),
        ("callId", "OLD1"),
        ("direction", direction),
        ("from", caller),
        ("to", callee),
    ]
    if answering is not None:
        fields.append(("answeringNumber", answering))
    await sandbox.send_push(push_url, fields)
    await settle(hass)
    shown = "outgoing" if direction == "out" else "incoming"
    state = hass.states.get(STATE)
    assert state is not None
    assert state.state == "talking"
    assert state.attributes["direction"] == shown
    assert events == [
        (
            "answered",
            {
                **events[0][1],
                "call_id": "OLD1",
                "direction": shown,
                "from": f"+{caller}",
                "to": f"+{callee}",
                "caller_name": None,
                "answered_by": answered_by,
            },
        )
    ]
    await sandbox.send_push(push_url, [("event", "hangup"), ("callId", "OLD1")])
    await settle(hass)
    assert [kind for kind, _ in events] == ["answered", "ended"]


async def test_hangup_of_an_unknown_call(
    hass: HomeAssistant,
    push_url: str,
    sandbox: SipgateSandbox,
    events: list[tuple[str, dict[str, Any]]],
) -> None:
    """A hangup of a call the integration never saw changes nothing."""
    await sandbox.send_push(push_url, [("event", "hangup"), ("callId", "NONE")])
    await settle(hass)
    assert events == []


async def test_check_stops_when_home_assistant_stops(
    hass: HomeAssistant,
    push_url: str,
    sandbox: SipgateSandbox,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Stopping Home Assistant cancels the check of a call in talk.

    Home Assistant cancels the timers marked so at the start of its stop
    (``_cancel_cancellable_timers``); no request is made while it stops.
    """
    await sandbox.simulate_call(push_url, hangup="on_delete")
    await settle(hass)
    hass._cancel_cancellable_timers()
    freezer.tick(ACTIVE_CHECK_INTERVAL)
    async_fire_time_changed(hass)
    await settle(hass)
    assert not sandbox.requests_to("GET", "/v2/calls")


async def test_same_new_call_later_again(
    hass: HomeAssistant,
    push_url: str,
    sandbox: SipgateSandbox,
    events: list[tuple[str, dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A newCall of a call in progress, after the replay window, changes nothing."""
    now = 1000.0
    monkeypatch.setattr(push_receiver, "monotonic", lambda: now)
    new_call = [("event", "newCall"), ("callId", "LONG"), ("from", "492111234567")]
    await sandbox.send_push(push_url, new_call)
    await sandbox.send_push(push_url, [("event", "answer"), ("callId", "LONG")])
    await settle(hass)
    now += push_receiver.REPLAY_WINDOW + 1
    await sandbox.send_push(push_url, new_call)
    await settle(hass)
    assert [kind for kind, _ in events] == ["incoming", "answered"]
    assert hass.states.get(STATE).state == "talking"  # type: ignore[union-attr]


async def test_two_calls_answered_share_one_check(
    hass: HomeAssistant,
    push_url: str,
    sandbox: SipgateSandbox,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Two answered calls: one check every interval; it stops with the last."""
    first = await sandbox.simulate_call(push_url, hangup="on_delete")
    await sandbox.simulate_call(push_url, hangup="on_delete")
    await settle(hass)
    freezer.tick(ACTIVE_CHECK_INTERVAL)
    async_fire_time_changed(hass)
    await settle(hass)
    assert len(sandbox.requests_to("GET", "/v2/calls")) == 1
    await hass.services.async_call(
        DOMAIN, "hangup_call", {"call_id": first.call_id}, blocking=True
    )
    await sandbox.wait_for_pushes()
    await settle(hass)
    assert hass.states.get(STATE).attributes["active_calls"] == 1  # type: ignore[union-attr]
    for _ in range(2):
        await hass.services.async_call(
            "button", "press", {"entity_id": BUTTON}, blocking=True
        )
        await sandbox.wait_for_pushes()
        await settle(hass)
    freezer.tick(ACTIVE_CHECK_INTERVAL)
    async_fire_time_changed(hass)
    await settle(hass)
    assert len(sandbox.requests_to("GET", "/v2/calls")) == 1


@pytest.mark.parametrize(
    ("scenario", "checks", "error"),
    [
        ({"server_error": 500}, 2, "sipgate answered GET /calls with 500"),
        ({"rate_limit": 5}, 2, "sipgate answered GET /calls with 429"),
    ],
)
async def test_check_of_calls_fails(
    hass: HomeAssistant,
    push_url: str,
    sandbox: SipgateSandbox,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    scenario: dict[str, Any],
    checks: int,
    error: str,
) -> None:
    """No list of calls from sipgate: the call stays, the check goes on."""
    caplog.set_level(logging.DEBUG, logger=LOGGER.name)
    await sandbox.simulate_call(push_url, hangup="on_delete")
    await settle(hass)
    for name, value in scenario.items():
        setattr(sandbox.scenario, name, value)
    for _ in range(checks):
        freezer.tick(ACTIVE_CHECK_INTERVAL)
        async_fire_time_changed(hass)
        await settle(hass)
    assert len(sandbox.requests_to("GET", "/v2/calls")) == checks
    assert hass.states.get(STATE).state == "talking"  # type: ignore[union-attr]
    assert (
        debug_messages(caplog).count(f"sipgate did not list the active calls: {error}")
        == checks
    )


async def test_check_without_rtcm_read(
    hass: HomeAssistant,
    sandbox: SipgateSandbox,
    sandbox_url: str,
    hass_client_no_auth: Callable[[], Any],
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Without rtcm:read the calls are asked once; then only the limit ends them."""
    caplog.set_level(logging.DEBUG, logger=LOGGER.name)
    entry = entry_for(sandbox_url)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry,
        data={
            **entry.data,
            "token_id": TOKEN_NO_DEVICES.token_id,
            "token": TOKEN_NO_DEVICES.token,
        },
        options={**entry.options, CONF_PUSH_PUBLIC_KEY: sandbox.push_public_key_pem},
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    client = await hass_client_no_auth()
    base = str(client.make_url("/")).rstrip("/")
    await hass.config.async_update(external_url=base)
    url = f"{base}/api/webhook/{entry.data[CONF_WEBHOOK_ID]}"
    await sandbox.simulate_call(url, hangup="drop")
    await settle(hass)
    for _ in range(3):
        freezer.tick(ACTIVE_CHECK_INTERVAL)
        async_fire_time_changed(hass)
        await settle(hass)
    assert len(sandbox.requests_to("GET", "/v2/calls")) == 1
    assert hass.states.get(STATE).state == "talking"  # type: ignore[union-attr]
    assert (
        debug_messages(caplog).count("The token may not list active calls (rtcm:read)")
        == 1
    )
    # A second answered call does not ask again.
    await sandbox.simulate_call(url, hangup="drop")
    await settle(hass)
    freezer.tick(ACTIVE_CHECK_INTERVAL)
    async_fire_time_changed(hass)
    await settle(hass)
    assert len(sandbox.requests_to("GET", "/v2/calls")) == 1


async def test_many_numbers_are_remembered_up_to_a_limit(
    hass: HomeAssistant,
    push_entry: MockConfigEntry,
    push_url: str,
    sandbox: SipgateSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The name cache keeps the numbers used last."""
    monkeypatch.setattr(calls_module, "_NAMES_KEPT", 2)
    callers = ("492110000001", "492110000002", "492110000001", "492110000003")
    for number, caller in enumerate(callers):
        await sandbox.send_push(
            push_url,
            [("event", "newCall"), ("callId", f"C{number}"), ("from", caller)],
        )
        await settle(hass)
    # 1 and 2 looked up; 1 again from the cache, moved to the end; 3 pushes 2 out.
    assert len(sandbox.requests_to("GET", "/v2/contacts")) == 3
    assert list(push_entry.runtime_data.calls._names) == [
        "+492110000001",
        "+492110000003",
    ]


async def test_pressing_with_no_call_does_nothing(
    hass: HomeAssistant, push_entry: MockConfigEntry, sandbox: SipgateSandbox
) -> None:
    """The call ended just before the press: nothing is sent."""
    button = hass.data["entity_components"]["button"].get_entity(BUTTON)
    await button.async_press()
    assert not sandbox.requests_to("DELETE", "/v2/calls")
    assert [r.path for r in sandbox.requests] == [
        "/v2/authorization/userinfo",
        "/v2/balance",
    ]
