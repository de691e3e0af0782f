"""The "Call state" sensor: idle, ringing, dialing or talking."""

from typing import Any

from homeassistant.components.sensor import SensorDeviceClass, SensorEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .calls import CALL_STATES
from .data import SipgateConfigEntry
from .entity import SipgateEntity

# Pushed by sipgate; nothing is polled.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SipgateConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the account's call state sensor."""
    async_add_entities([SipgateCallStateSensor(entry)])


class SipgateCallStateSensor(SipgateEntity, SensorEntity):
    """The state of the account's current call, the one that started last."""

    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options = CALL_STATES

    def __init__(self, entry: SipgateConfigEntry) -> None:
        """Be the account's "Call state" entity."""
        super().__init__(entry, "call_state")

    @property
    def native_value(self) -> str:
        """Return the current call's state, or idle."""
        return self._calls.state

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return the current call and how many calls are active."""
        current = self._calls.current
        empty = dict.fromkeys(("call_id", "direction", "from", "to", "caller_name"))
        return {
            **(empty if current is None else current.attributes()),
            "active_calls": len(self._calls.calls),
        }
