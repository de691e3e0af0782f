"""The "Balance" sensor: read every 30 minutes and after calls and SMS."""

from datetime import timedelta
import logging

from aiohttp import web
from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.sipgate.const import DOMAIN
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from sipgate_lab.sandbox import TOKEN_NO_BALANCE, SipgateSandbox

from .conftest import StandInEntry, use_token

BALANCE = "sensor.sipgate_1234567w0_balance"


def balance_reads(sandbox: SipgateSandbox) -> int:
    """Return how often the balance was read."""
    return len(sandbox.requests_to("GET", "/v2/balance"))


def state(hass: HomeAssistant) -> str:
    """Return the balance sensor's state."""
    current = hass.states.get(BALANCE)
    assert current is not None
    return current.state


async def tick(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, minutes: int
) -> None:
    """Let time pass and what is due run."""
    freezer.tick(timedelta(minutes=minutes))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_balance_sensor(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """3.50 EUR, monetary, shown with two decimals, on the account's device."""
    current = hass.states.get(BALANCE)
    assert current is not None
    assert current.state == "3.5"
    assert current.attributes["unit_of_measurement"] == "EUR"
    assert current.attributes["device_class"] == SensorDeviceClass.MONETARY
    assert current.attributes["state_class"] == SensorStateClass.TOTAL
    assert current.attributes["friendly_name"] == "sipgate 1234567w0 Balance"
    registered = entity_registry.async_get(BALANCE)
    assert registered is not None
    assert registered.options["sensor"]["suggested_display_precision"] == 2
    assert registered.unique_id == "1234567w0_balance"
    assert registered.translation_key == "balance"
    hang_up = entity_registry.async_get("button.sipgate_1234567w0_hang_up")
    assert hang_up is not None
    assert registered.device_id == hang_up.device_id


async def test_read_every_30_minutes(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    sandbox: SipgateSandbox,
) -> None:
    """Not faster than every 30 minutes."""
    assert balance_reads(sandbox) == 1
    await tick(hass, freezer, 29)
    assert balance_reads(sandbox) == 1
    sandbox.scenario.balance = 12345
    await tick(hass, freezer, 1)
    assert balance_reads(sandbox) == 2
    assert state(hass) == "1.2345"
    await tick(hass, freezer, 30)
    assert balance_reads(sandbox) == 3


async def test_read_after_a_call_and_a_refused_call(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    sandbox: SipgateSandbox,
) -> None:
    """A call and a 402 read it again; calls in quick succession read it once."""
    sandbox.scenario.balance = 20000
    for _ in range(2):
        await hass.services.async_call(
            DOMAIN, "initiate_call", {"callee": "+49211123456"}, blocking=True
        )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert balance_reads(sandbox) == 2
    assert state(hass) == "2"
    # After the cooldown: a 402 reads it again too.
    await tick(hass, freezer, 1)
    assert balance_reads(sandbox) == 3
    sandbox.scenario.balance = 0
    await tick(hass, freezer, 1)
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            DOMAIN, "initiate_call", {"callee": "+49211123456"}, blocking=True
        )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert balance_reads(sandbox) == 4
    assert state(hass) == "0"


async def test_not_read_after_a_refused_number(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    sandbox: SipgateSandbox,
) -> None:
    """A call sipgate refused as invalid cost nothing."""
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            DOMAIN, "initiate_call", {"callee": "+4900"}, blocking=True
        )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert balance_reads(sandbox) == 1


async def test_read_when_a_call_ends(
    hass: HomeAssistant, push_url: str, sandbox: SipgateSandbox
) -> None:
    """What a call cost is known when it ends."""
    await sandbox.simulate_call(push_url, hangup="send")
    await hass.async_block_till_done(wait_background_tasks=True)
    assert balance_reads(sandbox) == 2


async def test_unavailable_while_sipgate_cannot_be_reached(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    sandbox: SipgateSandbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Unavailable, logged once when lost and once when back."""
    caplog.set_level(logging.INFO)
    sandbox.scenario.server_error = 503
    await tick(hass, freezer, 30)
    await tick(hass, freezer, 30)
    assert state(hass) == STATE_UNAVAILABLE
    lost = [r for r in caplog.records if "Error fetching sipgate balance" in r.message]
    assert len(lost) == 1
    assert lost[0].levelno == logging.ERROR
    assert "503" in lost[0].message
    sandbox.scenario.server_error = None
    sandbox.scenario.balance = 50000
    await tick(hass, freezer, 30)
    await tick(hass, freezer, 30)
    assert state(hass) == "5"
    back = [r for r in caplog.records if "sipgate balance data recovered" in r.message]
    assert len(back) == 1
    assert init_integration.runtime_data.balance.update_interval == timedelta(
        minutes=30
    )


async def test_revoked_token_starts_reauth(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    sandbox: SipgateSandbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 401 while reading the balance asks for a new token, in its words."""
    sandbox.scenario.token_valid = False
    await tick(hass, freezer, 30)
    assert "sipgate no longer accepts the token. Open Settings" in caplog.text
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["source"] == SOURCE_REAUTH
    assert flow["context"]["entry_id"] == init_integration.entry_id


async def test_without_the_balance_scope(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    mock_config_entry: MockConfigEntry,
    sandbox: SipgateSandbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No sensor, no error; the options say which scope would add it."""
    caplog.set_level(logging.DEBUG, logger="custom_components.sipgate")
    mock_config_entry.add_to_hass(hass)
    use_token(hass, mock_config_entry, TOKEN_NO_BALANCE)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(BALANCE) is None
    assert hass.states.get("sensor.sipgate_1234567w0_call_state") is not None
    assert "The token may not read the balance (balance:read)" in caplog.messages
    # Calls do not try to read it.
    await hass.services.async_call(
        DOMAIN, "initiate_call", {"callee": "+49211123456"}, blocking=True
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert balance_reads(sandbox) == 1
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    assert result["menu_options"] == ["phone", "sms", "calls", "balance"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "balance"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "balance_scope"


async def test_added_once_sipgate_answers(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    stand_in_entry: StandInEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """A balance sipgate cannot show at setup: calls work, the sensor comes later."""
    answers = [web.Response(status=503), web.Response(status=503)]

    async def balance(request: web.Request) -> web.Response:
        if answers:
            return answers.pop(0)
        return web.json_response({"amount": 75000, "currency": "EUR"})

    entry = await stand_in_entry({"GET /v2/balance": balance})
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get(BALANCE) is None
    # Not read is not refused: the options do not blame the token.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["menu_options"] == ["phone", "sms", "calls"]
    await tick(hass, freezer, 30)
    assert hass.states.get(BALANCE) is None
    await tick(hass, freezer, 30)
    assert state(hass) == "7.5"
    assert entity_registry.async_get(BALANCE) is not None
    # Added once, however often it is read.
    await tick(hass, freezer, 30)
    assert len(hass.states.async_entity_ids("sensor")) == 2
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_token_without_the_scope_removes_the_sensor(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Reconfigured with a token that may not read it, the sensor goes."""
    assert entity_registry.async_get(BALANCE) is not None
    use_token(hass, init_integration, TOKEN_NO_BALANCE)
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.LOADED
    assert entity_registry.async_get(BALANCE) is None
    assert hass.states.get(BALANCE) is None
    assert entity_registry.async_get("sensor.sipgate_1234567w0_call_state") is not None
