"""The "Calls" event entity: one event per step of every call."""

from typing import Any

from homeassistant.components.event import EventEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .calls import EVENT_TYPES
from .data import SipgateConfigEntry
from .entity import SipgateEntity

# Pushed by sipgate; nothing is polled or sent.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SipgateConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the account's call event entity."""
    async_add_entities([SipgateCallEvent(entry)])


class SipgateCallEvent(SipgateEntity, EventEntity):
    """Incoming, outgoing, answered, ended and missed calls."""

    _attr_event_types = EVENT_TYPES

    def __init__(self, entry: SipgateConfigEntry) -> None:
        """Be the account's "Calls" entity."""
        super().__init__(entry, "calls")

    async def async_added_to_hass(self) -> None:
        """Take the account's call events while the entity exists."""
        await super().async_added_to_hass()
        self.async_on_remove(self._calls.async_add_event_listener(self._async_event))

    @callback
    def _async_calls_changed(self) -> None:
        """Change nothing: the entity shows events, not the calls."""

    @callback
    def _async_event(self, event_type: str, attributes: dict[str, Any]) -> None:
        """Show a call event."""
        self._trigger_event(event_type, attributes)
        self.async_write_ha_state()
