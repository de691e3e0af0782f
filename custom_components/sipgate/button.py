"""The "Hang up" button: ends the account's current call."""

from homeassistant.components.button import ButtonEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import SipgateConfigEntry
from .entity import SipgateEntity
from .services import async_hang_up

# One request to sipgate at a time.
PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SipgateConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the account's hang-up button."""
    async_add_entities([SipgateHangUpButton(entry)])


class SipgateHangUpButton(SipgateEntity, ButtonEntity):
    """Ends the call that started last; unavailable while there is none."""

    def __init__(self, entry: SipgateConfigEntry) -> None:
        """Be the account's "Hang up" entity."""
        super().__init__(entry, "hang_up")
        self._entry_id = entry.entry_id

    @property
    def available(self) -> bool:
        """Return whether there is a call to end."""
        return self._calls.current is not None

    async def async_press(self) -> None:
        """Ask sipgate to end the current call.

        The call's hangup push ends it here too; a call that sipgate no longer
        knows is over already.
        """
        if (call := self._calls.current) is not None:
            await async_hang_up(self.hass, self._entry_id, call.call_id)
