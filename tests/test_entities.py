"""The account's device and its entities."""

from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.sipgate.const import DOMAIN
from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er

ENTITIES = {
    "button.sipgate_1234567w0_hang_up": ("hang_up", "sipgate 1234567w0 Hang up"),
    "event.sipgate_1234567w0_calls": ("calls", "sipgate 1234567w0 Calls"),
    "sensor.sipgate_1234567w0_call_state": (
        "call_state",
        "sipgate 1234567w0 Call state",
    ),
    "sensor.sipgate_1234567w0_balance": ("balance", "sipgate 1234567w0 Balance"),
}


async def test_device_and_entities(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """One service device per account with four named, translated entities."""
    (device,) = dr.async_entries_for_config_entry(
        device_registry, init_integration.entry_id
    )
    assert device.identifiers == {(DOMAIN, "1234567w0")}
    assert device.name == "sipgate 1234567w0"
    assert device.manufacturer == "sipgate"
    assert device.model == "sipgate account"
    assert device.entry_type is dr.DeviceEntryType.SERVICE
    assert device.configuration_url == "https://app.sipgate.com"
    entries = er.async_entries_for_config_entry(
        entity_registry, init_integration.entry_id
    )
    assert {entry.entity_id for entry in entries} == set(ENTITIES)
    for entry in entries:
        key, name = ENTITIES[entry.entity_id]
        assert entry.unique_id == f"1234567w0_{key}"
        assert entry.translation_key == key
        assert entry.device_id == device.id
        assert entry.has_entity_name
        assert entry.entity_category is None
        state = hass.states.get(entry.entity_id)
        assert state is not None
        assert state.attributes["friendly_name"] == name


async def test_states_without_calls(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Idle, no event yet, and nothing to hang up."""
    sensor = hass.states.get("sensor.sipgate_1234567w0_call_state")
    assert sensor is not None
    assert sensor.state == "idle"
    assert sensor.attributes["device_class"] == SensorDeviceClass.ENUM
    assert sensor.attributes["options"] == ["idle", "ringing", "dialing", "talking"]
    assert {
        key: sensor.attributes[key]
        for key in ("call_id", "direction", "from", "to", "caller_name", "active_calls")
    } == {
        "call_id": None,
        "direction": None,
        "from": None,
        "to": None,
        "caller_name": None,
        "active_calls": 0,
    }
    event = hass.states.get("event.sipgate_1234567w0_calls")
    assert event is not None
    assert event.state == STATE_UNKNOWN
    assert event.attributes["event_types"] == [
        "incoming",
        "outgoing",
        "answered",
        "ended",
        "missed",
    ]
    button = hass.states.get("button.sipgate_1234567w0_hang_up")
    assert button is not None
    assert button.state == STATE_UNAVAILABLE


async def test_german_names(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """The entities are named in the user's language."""
    hass.config.language = "de"
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    state = hass.states.get("sensor.sipgate_1234567w0_anrufstatus")
    assert state is not None
    assert state.attributes["friendly_name"] == "sipgate 1234567w0 Anrufstatus"


async def test_unload_removes_nothing_but_the_states(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Unloaded, the entities are unavailable and stay registered."""
    await hass.config_entries.async_unload(init_integration.entry_id)
    for entity_id in ENTITIES:
        state = hass.states.get(entity_id)
        assert state is not None
        assert state.state == STATE_UNAVAILABLE
        assert entity_registry.async_get(entity_id) is not None
