"""Buttons: "Hang up" ends the account's current call, "Call" calls a contact."""

from homeassistant.components.button import ButtonEntity
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import (
    ATTR_CALLEE,
    ATTR_CALLER,
    ATTR_CALLER_ID,
    ATTR_DEVICE_ID,
    CONF_CALLER_ID,
    CONF_DEVICE_ID,
    CONF_NUMBER,
)
from .data import SipgateConfigEntry
from .entity import SipgateContactEntity, SipgateEntity, async_add_contact_entities
from .services import async_hang_up, async_place_call

# One request to sipgate at a time.
PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SipgateConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the account's hang-up button and a call button per contact."""
    async_add_entities([SipgateHangUpButton(entry)])
    async_add_contact_entities(entry, async_add_entities, SipgateCallContactButton)


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


class SipgateCallContactButton(SipgateContactEntity, ButtonEntity):
    """Calls a contact: rings the phone to ring first, then dials the contact."""

    def __init__(self, entry: SipgateConfigEntry, contact: ConfigSubentry) -> None:
        """Be the contact's "Call" entity."""
        super().__init__(entry, contact, "call")

    async def async_press(self) -> None:
        """Place the call as ``sipgate.initiate_call`` would.

        The contact's phone to ring first and caller ID replace the account's
        defaults when set.
        """
        data = {ATTR_CALLEE: self._contact[CONF_NUMBER]}
        if device_id := self._contact.get(CONF_DEVICE_ID):
            data[ATTR_CALLER] = data[ATTR_DEVICE_ID] = device_id
        if caller_id := self._contact.get(CONF_CALLER_ID):
            data[ATTR_CALLER_ID] = caller_id
        await async_place_call(self.hass, self._entry_id, data)
