"""The README's automation and script examples work as written."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
import re
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)
import yaml

from custom_components.sipgate.const import DOMAIN
from homeassistant.components import persistent_notification
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.setup import async_setup_component
from sipgate_lab.sandbox import SipgateSandbox

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def example(title: str) -> Any:
    """Return the YAML of the README example under this heading."""
    match = re.search(
        rf"^### Example: {title}\n.*?```yaml\n(.*?)```",
        README,
        re.DOTALL | re.MULTILINE,
    )
    assert match, title
    return yaml.safe_load(match.group(1))


@pytest.mark.usefixtures("init_integration")
async def test_automation_example(hass: HomeAssistant, sandbox: SipgateSandbox) -> None:
    """The water sensor automation rings the mobile and calls the plumber."""
    hass.states.async_set("binary_sensor.basement_water", "off")
    assert await async_setup_component(hass, "automation", example("automation"))
    hass.states.async_set("binary_sensor.basement_water", "on")
    await hass.async_block_till_done()
    (request,) = sandbox.requests_to("POST", "/v2/sessions/calls")
    assert request.json == {
        "caller": "y0",
        "callee": "+49211123456",
        "deviceId": "e0",
        "callerId": "+49211999000",
    }


@pytest.mark.usefixtures("init_integration")
async def test_script_example(hass: HomeAssistant, sandbox: SipgateSandbox) -> None:
    """The script example calls and gets the session ID as a response."""
    assert await async_setup_component(hass, "script", example("script"))
    response = await hass.services.async_call(
        "script", "call_grandma", blocking=True, return_response=True
    )
    assert response == {"session_id": sandbox.calls[0]["sessionId"]}
    assert sandbox.calls[0]["callee"] == "0211123456"
    assert sandbox.calls[0]["callerId"] == "+49211999000"


def test_button_example() -> None:
    """The dashboard button performs the action with a callee."""
    card = example("dashboard button")
    assert card["tap_action"]["action"] == "perform-action"
    assert card["tap_action"]["perform_action"] == "sipgate.initiate_call"
    assert "callee" in card["tap_action"]["data"]


EVENT = "event.sipgate_1234567w0_calls"
STATE = "sensor.sipgate_1234567w0_call_state"
HANG_UP_AUTOMATION = "automation.hang_up_calls_after_60_seconds"
# In the sandbox's contacts as "Oma Erna"; its default caller is in none.
GRANDMA = "4921112345678"
WITH_THE_SCRIPT = 'with the script "Call back the last missed call".'


async def settle(hass: HomeAssistant) -> None:
    """Wait until pushes and what follows from them are handled."""
    await hass.async_block_till_done(wait_background_tasks=True)


def notifications(hass: HomeAssistant) -> list[tuple[str | None, str]]:
    """Return the title and message of each persistent notification."""
    return [
        (notification["title"], notification["message"])
        for notification in (
            persistent_notification._async_get_or_create_notifications(hass).values()
        )
    ]


@pytest.mark.parametrize(
    ("caller", "title", "message"),
    [
        (
            GRANDMA,
            "Missed call from Oma Erna",
            f"Call back +4921112345678 {WITH_THE_SCRIPT}",
        ),
        (
            "492111234567",
            "Missed call from +492111234567",
            f"Call back +492111234567 {WITH_THE_SCRIPT}",
        ),
        ("anonymous", "Missed call from unknown", "The caller did not send a number."),
    ],
)
async def test_missed_call_example(
    hass: HomeAssistant,
    push_url: str,
    sandbox: SipgateSandbox,
    caller: str,
    title: str,
    message: str,
) -> None:
    """A missed call shows one notification: name, number or unknown."""
    assert await async_setup_component(hass, "automation", example("missed call"))
    call = await sandbox.simulate_call(push_url, from_=caller, answer=False)
    await settle(hass)
    assert call.events == ["newCall", "hangup"]
    assert hass.states.get(EVENT).attributes["event_type"] == "missed"  # type: ignore[union-attr]
    assert notifications(hass) == [(title, message)]


async def test_missed_call_example_ignores_other_calls_and_reloads(
    hass: HomeAssistant,
    push_entry: MockConfigEntry,
    push_url: str,
    sandbox: SipgateSandbox,
) -> None:
    """Answered calls notify nothing, nor does the restored event of a reload."""
    assert await async_setup_component(hass, "automation", example("missed call"))
    await sandbox.simulate_call(push_url)
    await settle(hass)
    assert hass.states.get(EVENT).attributes["event_type"] == "ended"  # type: ignore[union-attr]
    assert notifications(hass) == []
    await sandbox.simulate_call(push_url, answer=False)
    await settle(hass)
    assert len(notifications(hass)) == 1
    assert await hass.config_entries.async_reload(push_entry.entry_id)
    await settle(hass)
    # The entity shows the missed call again, but it is not a new one.
    assert hass.states.get(EVENT).attributes["event_type"] == "missed"  # type: ignore[union-attr]
    assert len(notifications(hass)) == 1


async def test_call_back_example(
    hass: HomeAssistant, push_url: str, sandbox: SipgateSandbox
) -> None:
    """The script calls the number of the last missed call, as text."""
    assert await async_setup_component(hass, "script", example("call back"))
    await sandbox.simulate_call(push_url, answer=False)
    await settle(hass)
    await hass.services.async_call("script", "call_back_missed_call", blocking=True)
    (request,) = sandbox.requests_to("POST", "/v2/sessions/calls")
    assert request.json["callee"] == "+492111234567"
    assert request.json["caller"] == "e0"


@pytest.mark.parametrize("later", [{"from_": "anonymous", "answer": False}, {}])
async def test_call_back_example_without_a_missed_call(
    hass: HomeAssistant,
    push_url: str,
    sandbox: SipgateSandbox,
    later: dict[str, Any],
) -> None:
    """No call when the last event is an anonymous or an answered call."""
    assert await async_setup_component(hass, "script", example("call back"))
    await sandbox.simulate_call(push_url, answer=False)
    await sandbox.simulate_call(push_url, **later)
    await settle(hass)
    await hass.services.async_call("script", "call_back_missed_call", blocking=True)
    assert not sandbox.requests_to("POST", "/v2/sessions/calls")


async def wait_for_state(hass: HomeAssistant, entity_id: str, state: str) -> None:
    """Wait until the entity has this state.

    While an automation waits in its delay, async_block_till_done would wait
    for it too, and the frozen clock would never end the delay.
    """
    reached = asyncio.Event()

    @callback
    def changed(event: Event[EventStateChangedData]) -> None:
        new_state = event.data["new_state"]
        if new_state is not None and new_state.state == state:
            reached.set()

    unsubscribe = async_track_state_change_event(hass, [entity_id], changed)
    try:
        current = hass.states.get(entity_id)
        if current is None or current.state != state:
            async with asyncio.timeout(10):
                await reached.wait()
    finally:
        unsubscribe()


def running(hass: HomeAssistant) -> int:
    """Return how many runs of the hang-up automation are going on."""
    automation = hass.states.get(HANG_UP_AUTOMATION)
    assert automation is not None
    return int(automation.attributes["current"])


async def test_hang_up_after_60_seconds_example(
    hass: HomeAssistant,
    push_url: str,
    sandbox: SipgateSandbox,
    freezer: FrozenDateTimeFactory,
) -> None:
    """An answered call is hung up after 60 seconds, not before."""
    assert await async_setup_component(
        hass, "automation", example("hang up after 60 seconds")
    )
    call = await sandbox.simulate_call(push_url, hangup="on_delete")
    await wait_for_state(hass, STATE, "talking")
    assert running(hass) == 1
    freezer.tick(timedelta(seconds=59))
    async_fire_time_changed(hass)
    await wait_for_state(hass, STATE, "talking")
    assert running(hass) == 1
    assert not sandbox.requests_to("DELETE", f"/v2/calls/{call.call_id}")
    freezer.tick(timedelta(seconds=2))
    async_fire_time_changed(hass)
    await settle(hass)
    await sandbox.wait_for_pushes()
    await settle(hass)
    assert len(sandbox.requests_to("DELETE", f"/v2/calls/{call.call_id}")) == 1
    assert call.events == ["newCall", "answer", "hangup"]
    assert running(hass) == 0
    assert hass.states.get(STATE).state == "idle"  # type: ignore[union-attr]
    event = hass.states.get(EVENT)
    assert event is not None
    assert event.attributes["event_type"] == "ended"
    assert event.attributes["call_id"] == call.call_id


async def test_hang_up_example_leaves_a_call_that_ended(
    hass: HomeAssistant,
    push_url: str,
    sandbox: SipgateSandbox,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A call that ended within the 60 seconds is not hung up."""
    assert await async_setup_component(
        hass, "automation", example("hang up after 60 seconds")
    )
    call = await sandbox.simulate_call(push_url)  # answered, then hung up
    assert call.events == ["newCall", "answer", "hangup"]
    await wait_for_state(hass, STATE, "idle")
    assert running(hass) == 1
    freezer.tick(timedelta(seconds=61))
    async_fire_time_changed(hass)
    await settle(hass)
    assert running(hass) == 0
    assert not sandbox.requests_to("DELETE", f"/v2/calls/{call.call_id}")


async def test_hang_up_example_leaves_a_call_no_longer_current(
    hass: HomeAssistant,
    push_url: str,
    sandbox: SipgateSandbox,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A call is left alone when another call started after it."""
    assert await async_setup_component(
        hass, "automation", example("hang up after 60 seconds")
    )
    first = await sandbox.simulate_call(push_url, hangup="on_delete")
    await wait_for_state(hass, STATE, "talking")
    freezer.tick(timedelta(seconds=30))
    async_fire_time_changed(hass)
    second = await sandbox.simulate_call(push_url, answer=False, hangup="on_delete")
    await wait_for_state(hass, STATE, "ringing")
    freezer.tick(timedelta(seconds=31))
    async_fire_time_changed(hass)
    await settle(hass)
    assert running(hass) == 0
    assert not sandbox.requests_to("DELETE", f"/v2/calls/{first.call_id}")
    assert not sandbox.requests_to("DELETE", f"/v2/calls/{second.call_id}")
    state = hass.states.get(STATE)
    assert state is not None
    assert state.attributes["active_calls"] == 2


BALANCE = "sensor.sipgate_1234567w0_balance"
BALANCE_LOW = (
    "sipgate balance below 5 EUR",
    "The sipgate balance is {} EUR. Top it up in the sipgate web app.",
)


async def set_up(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Set up the sipgate entry against the sandbox."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def read_balance(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Let 30 minutes pass: the balance is read again."""
    freezer.tick(timedelta(minutes=30))
    async_fire_time_changed(hass)
    await settle(hass)


async def call(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Place a call, after which the balance is read again.

    The clock first moves past the 10 seconds in which readings after calls
    are taken together.
    """
    freezer.tick(timedelta(seconds=11))
    async_fire_time_changed(hass)
    await hass.services.async_call(
        DOMAIN, "initiate_call", {"callee": "+49211123456"}, blocking=True
    )
    await settle(hass)


@pytest.mark.parametrize("refresh", [read_balance, call], ids=["30 min", "call"])
async def test_balance_example(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    sandbox: SipgateSandbox,
    freezer: FrozenDateTimeFactory,
    entity_registry: er.EntityRegistry,
    refresh: Callable[[HomeAssistant, FrozenDateTimeFactory], Awaitable[None]],
) -> None:
    """The automation fires once the balance read drops below 5 EUR."""
    sandbox.scenario.balance = 60000  # 6 EUR, in 1/10000 EUR
    await set_up(hass, mock_config_entry)
    assert (
        entity_registry.async_get_entity_id("sensor", DOMAIN, "1234567w0_balance")
        == BALANCE
    )
    assert await async_setup_component(
        hass, "automation", example("balance below 5 EUR")
    )
    triggered = async_capture_events(hass, "automation_triggered")
    sandbox.scenario.balance = 50000
    await refresh(hass, freezer)
    assert hass.states.get(BALANCE).state == "5"  # type: ignore[union-attr]
    assert not triggered
    assert notifications(hass) == []
    sandbox.scenario.balance = 45000
    await refresh(hass, freezer)
    assert hass.states.get(BALANCE).state == "4.5"  # type: ignore[union-attr]
    assert len(triggered) == 1
    assert notifications(hass) == [(BALANCE_LOW[0], BALANCE_LOW[1].format("4.50"))]
    sandbox.scenario.balance = 31234
    await refresh(hass, freezer)
    assert hass.states.get(BALANCE).state == "3.1234"  # type: ignore[union-attr]
    assert len(triggered) == 1
    assert notifications(hass) == [(BALANCE_LOW[0], BALANCE_LOW[1].format("4.50"))]


@pytest.mark.parametrize("gone", ["reload", "outage"])
async def test_balance_example_fires_again_after_unavailable(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    sandbox: SipgateSandbox,
    freezer: FrozenDateTimeFactory,
    gone: str,
) -> None:
    """Below 5 EUR already: no firing, but again after a reload or outage."""
    await set_up(hass, mock_config_entry)  # the sandbox's 3.50 EUR
    assert await async_setup_component(
        hass, "automation", example("balance below 5 EUR")
    )
    triggered = async_capture_events(hass, "automation_triggered")
    await read_balance(hass, freezer)
    assert hass.states.get(BALANCE).state == "3.5"  # type: ignore[union-attr]
    assert not triggered
    for firing in (1, 2):
        if gone == "reload":
            assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
            await settle(hass)
        else:
            sandbox.scenario.server_error = 503
            await read_balance(hass, freezer)
            assert hass.states.get(BALANCE).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
            sandbox.scenario.server_error = None
            await read_balance(hass, freezer)
        assert hass.states.get(BALANCE).state == "3.5"  # type: ignore[union-attr]
        assert len(triggered) == firing
        # One notification, however often it fires.
        assert notifications(hass) == [(BALANCE_LOW[0], BALANCE_LOW[1].format("3.50"))]


# As sipgate receives it: the number in E.164, the folded lines joined.
NEIGHBOUR_SMS = (
    "Water in our basement, and we are away. Could you please have a look? "
    "Thank you! Erika"
)


@pytest.mark.usefixtures("init_integration")
async def test_water_leak_sms_example(
    hass: HomeAssistant, sandbox: SipgateSandbox
) -> None:
    """The water sensor automation sends one SMS, from the default s0."""
    hass.states.async_set("binary_sensor.basement_water", "off")
    assert await async_setup_component(
        hass, "automation", example("text the neighbour on a water leak")
    )
    hass.states.async_set("binary_sensor.basement_water", "on")
    await settle(hass)
    (request,) = sandbox.requests_to("POST", "/v2/sessions/sms")
    assert request.json == {
        "smsId": "s0",
        "recipient": "+4915799912345",
        "message": NEIGHBOUR_SMS,
    }
    assert len(NEIGHBOUR_SMS) <= 160  # one SMS, all in the GSM alphabet
    assert not sandbox.requests_to("POST", "/v2/sessions/calls")
    assert notifications(hass) == []


async def add_contact(
    hass: HomeAssistant, entry: MockConfigEntry, name: str, number: str
) -> str:
    """Add a contact as the UI does; return its subentry ID."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "contact"), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": name, "number": number}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await settle(hass)  # the entry reloads with the contact
    (subentry_id,) = (
        subentry_id
        for subentry_id, subentry in entry.subentries.items()
        if subentry.title == name
    )
    return subentry_id


async def test_text_and_call_a_contact_example(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    sandbox: SipgateSandbox,
    entity_registry: er.EntityRegistry,
) -> None:
    """The smoke alarm texts the contact, then calls it from the default phone."""
    subentry_id = await add_contact(
        hass, init_integration, "Neighbour", "0157 99912345"
    )
    assert {
        entity.entity_id
        for entity in er.async_entries_for_config_entry(
            entity_registry, init_integration.entry_id
        )
        if entity.config_subentry_id == subentry_id
    } == {"button.neighbour_call", "notify.neighbour_sms"}
    assert hass.states.get("button.neighbour_call").name == "Neighbour Call"  # type: ignore[union-attr]
    assert hass.states.get("notify.neighbour_sms").name == "Neighbour SMS"  # type: ignore[union-attr]
    hass.states.async_set("binary_sensor.smoke_alarm", "off")
    assert await async_setup_component(
        hass, "automation", example("text and call a contact")
    )
    hass.states.async_set("binary_sensor.smoke_alarm", "on")
    await settle(hass)
    (sms,) = sandbox.requests_to("POST", "/v2/sessions/sms")
    assert sms.json == {
        "smsId": "s0",
        "recipient": "015799912345",
        "message": (
            "Smoke alarm!\n"
            "Our smoke alarm went off, and we are away. Please have a look."
        ),
    }
    (call_request,) = sandbox.requests_to("POST", "/v2/sessions/calls")
    assert call_request.json == {
        "caller": "e0",
        "callee": "015799912345",
        "deviceId": "e0",
        "callerId": "+49211999000",
    }
    assert notifications(hass) == []
