"""Notify entities: an SMS to each contact."""

from homeassistant.components.notify import (  # type: ignore[attr-defined]
    NotifyEntity,
    NotifyEntityFeature,  # defined in notify.const since 2026.x, re-exported
)
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import ATTR_MESSAGE, ATTR_RECIPIENT, CONF_NUMBER
from .data import SipgateConfigEntry
from .entity import SipgateContactEntity, async_add_contact_entities
from .services import async_send_sms

# One request to sipgate at a time.
PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SipgateConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add an SMS entity per contact."""
    async_add_contact_entities(entry, async_add_entities, SipgateContactSms)


class SipgateContactSms(SipgateContactEntity, NotifyEntity):
    """Texts a contact from the account's default SMS extension."""

    _attr_supported_features = NotifyEntityFeature.TITLE

    def __init__(self, entry: SipgateConfigEntry, contact: ConfigSubentry) -> None:
        """Be the contact's "SMS" entity."""
        super().__init__(entry, contact, "sms")

    async def async_send_message(self, message: str, title: str | None = None) -> None:
        """Send the message as ``sipgate.send_sms`` would; a title leads it."""
        if title and title.strip():
            message = f"{title}\n{message}"
        await async_send_sms(
            self.hass,
            self._entry_id,
            {ATTR_RECIPIENT: self._contact[CONF_NUMBER], ATTR_MESSAGE: message},
        )
