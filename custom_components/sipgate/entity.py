"""The bases of the sipgate entities: the account's and the contacts'.

Each account is a service device; each contact is a device of its own, so
that the entities of one contact (a config subentry) never share a device
with those of another.
"""

from collections.abc import Callable

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .contacts import contacts
from .data import SipgateConfigEntry


def account_device_info(entry: SipgateConfigEntry) -> DeviceInfo:
    """Return the device of the entry's sipgate account."""
    return DeviceInfo(
        identifiers={(DOMAIN, entry.runtime_data.account.unique_id)},
        name=entry.title,
        manufacturer="sipgate",
        model="sipgate account",
        entry_type=DeviceEntryType.SERVICE,
        configuration_url="https://app.sipgate.com",
    )


class SipgateEntity(Entity):
    """An entity of a sipgate account, updated by the account's pushes."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: SipgateConfigEntry, key: str) -> None:
        """Name the entity by its key and put it on the account's device."""
        self._calls = entry.runtime_data.calls
        self._attr_translation_key = key
        self._attr_unique_id = f"{entry.runtime_data.account.unique_id}_{key}"
        self._attr_device_info = account_device_info(entry)

    async def async_added_to_hass(self) -> None:
        """Follow the account's calls while the entity exists."""
        self.async_on_remove(self._calls.async_add_listener(self._async_calls_changed))

    def _async_calls_changed(self) -> None:
        """Show the calls as they are now."""
        self.async_write_ha_state()


class SipgateContactEntity(Entity):
    """An entity of a contact: calls or texts the contact's number."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self, entry: SipgateConfigEntry, contact: ConfigSubentry, key: str
    ) -> None:
        """Name the entity by its key and put it on the contact's device."""
        account_id = entry.runtime_data.account.unique_id
        self._entry_id = entry.entry_id
        self._contact = dict(contact.data)
        self._attr_translation_key = key
        self._attr_unique_id = f"{account_id}_{contact.subentry_id}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, f"{account_id}_{contact.subentry_id}")},
            name=contact.title,
            manufacturer="sipgate",
            model="contact",
            entry_type=DeviceEntryType.SERVICE,
        )


@callback
def async_add_contact_entities(
    entry: SipgateConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    entity: Callable[[SipgateConfigEntry, ConfigSubentry], Entity],
) -> None:
    """Add an entity per contact, each to the contact's subentry."""
    for contact in contacts(entry):
        async_add_entities(
            [entity(entry, contact)], config_subentry_id=contact.subentry_id
        )
