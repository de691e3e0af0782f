"""The base of the sipgate entities: one service device per account."""

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity

from .const import DOMAIN
from .data import SipgateConfigEntry


class SipgateEntity(Entity):
    """An entity of a sipgate account, updated by the account's pushes."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: SipgateConfigEntry, key: str) -> None:
        """Name the entity by its key and put it on the account's device."""
        account = entry.runtime_data.account
        self._calls = entry.runtime_data.calls
        self._attr_translation_key = key
        self._attr_unique_id = f"{account.unique_id}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, account.unique_id)},
            name=entry.title,
            manufacturer="sipgate",
            model="sipgate account",
            entry_type=DeviceEntryType.SERVICE,
            configuration_url="https://app.sipgate.com",
        )

    async def async_added_to_hass(self) -> None:
        """Follow the account's calls while the entity exists."""
        self.async_on_remove(self._calls.async_add_listener(self._async_calls_changed))

    def _async_calls_changed(self) -> None:
        """Show the calls as they are now."""
        self.async_write_ha_state()
