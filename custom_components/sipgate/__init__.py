"""Place phone calls through sipgate and follow them in Home Assistant."""

from typing import Any, Final

from homeassistant.components import webhook
from homeassistant.const import CONF_TOKEN, CONF_WEBHOOK_ID, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryError,
    ConfigEntryNotReady,
    HomeAssistantError,
)
from homeassistant.helpers import config_validation as cv, issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.typing import ConfigType

from .api import (
    SipgateAuthenticationError,
    SipgateClient,
    SipgateConnectionError,
    SipgateError,
    SipgateRateLimitError,
    SipgateResponseError,
    SipgateServerError,
)
from .calls import EVENT_ENDED, CallTracker
from .const import CONF_BASE_URL, CONF_CLOUDHOOK_URL, CONF_TOKEN_ID, DOMAIN, LOGGER
from .contacts import contact_names, contacts
from .coordinator import SipgateBalanceCoordinator
from .data import PushStats, SipgateConfigEntry, SipgateRuntimeData
from .notifications import async_clear_call_problems
from .push_receiver import (
    async_register_webhook,
    pushes_refused_issue_id,
    read_sipgate_key,
)
from .services import async_setup_services

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS: Final = [Platform.BUTTON, Platform.EVENT, Platform.NOTIFY, Platform.SENSOR]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the sipgate actions once for all entries."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: SipgateConfigEntry) -> bool:
    """Check the token, receive the account's pushes and add its entities."""
    client = SipgateClient(
        async_get_clientsession(hass),
        entry.data[CONF_TOKEN_ID],
        entry.data[CONF_TOKEN],
        base_url=entry.data[CONF_BASE_URL],
    )
    try:
        account = await client.async_get_userinfo()
    except SipgateAuthenticationError as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="auth_failed"
        ) from err
    except (
        SipgateConnectionError,
        SipgateServerError,
        SipgateRateLimitError,
        SipgateResponseError,
    ) as err:
        # An outage, or an answer that is not sipgate's (a captive portal or a
        # proxy's error page): it passes, so setup is retried.
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="setup_not_ready",
            translation_placeholders={"error": str(err)},
        ) from err
    except SipgateError as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="setup_failed",
            translation_placeholders={"error": str(err)},
        ) from err
    calls = CallTracker(
        hass,
        # Not started eagerly: a push is answered before what follows from it
        # runs (such as the name lookup of a newCall).
        start_task=lambda target, name: entry.async_create_background_task(
            hass, target, name, eager_start=False
        ),
        name_lookup=client.async_get_contact_name,
        active_calls=client.async_get_active_call_ids,
        contact_names=contact_names(entry),
    )
    entry.async_on_unload(calls.async_stop)
    # Calls and SMS work without the balance: a balance that cannot be read
    # now leaves the sensor to be added when it can.
    balance = SipgateBalanceCoordinator(hass, entry, client)
    await balance.async_refresh()

    @callback
    def read_balance_after_call(event_type: str, attributes: dict[str, Any]) -> None:
        # What a call cost is known when it ends.
        if event_type == EVENT_ENDED:
            balance.async_spent()

    entry.async_on_unload(calls.async_add_event_listener(read_balance_after_call))
    entry.runtime_data = SipgateRuntimeData(
        client=client,
        account=account,
        calls=calls,
        push=PushStats(sipgate_key=await hass.async_add_executor_job(read_sipgate_key)),
        balance=balance,
        set_up_from=_set_up_from(entry),
    )
    async_register_webhook(hass, entry)
    # Before the entities: a contact added while they are set up counts.
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


def _set_up_from(entry: SipgateConfigEntry) -> dict[str, object]:
    """Return what setting up the entry reads: its token, address and contacts."""
    return {
        "data": {
            key: entry.data[key] for key in (CONF_TOKEN_ID, CONF_TOKEN, CONF_BASE_URL)
        },
        "contacts": {
            contact.subentry_id: (contact.title, dict(contact.data))
            for contact in contacts(entry)
        },
    }


async def _async_entry_updated(hass: HomeAssistant, entry: SipgateConfigEntry) -> None:
    """Reload the entry when its token, address or contacts changed.

    Options are read when they are used and need no reload.
    """
    if _set_up_from(entry) != entry.runtime_data.set_up_from:
        hass.config_entries.async_schedule_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: SipgateConfigEntry) -> bool:
    """Unload the entities; the webhook and timers go with the entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_migrate_entry(hass: HomeAssistant, entry: SipgateConfigEntry) -> bool:
    """Give entries made before call events a webhook of their own (1.2)."""
    if entry.version > 1:
        return False
    if entry.minor_version < 2:  # noqa: PLR2004
        hass.config_entries.async_update_entry(
            entry,
            data={**entry.data, CONF_WEBHOOK_ID: webhook.async_generate_id()},
            minor_version=2,
        )
        LOGGER.debug("Gave the sipgate entry %s a webhook", entry.title)
    return True


async def async_remove_entry(hass: HomeAssistant, entry: SipgateConfigEntry) -> None:
    """Remove the entry's notification, repair issues and cloud webhook."""
    async_clear_call_problems(hass, entry.entry_id)
    ir.async_delete_issue(hass, DOMAIN, pushes_refused_issue_id(entry.entry_id))
    if entry.data.get(CONF_CLOUDHOOK_URL) and "cloud" in hass.config.components:
        from homeassistant.components import cloud  # noqa: PLC0415 - set up then

        try:
            await cloud.async_delete_cloudhook(hass, entry.data[CONF_WEBHOOK_ID])
        except HomeAssistantError as err:
            LOGGER.warning(
                "Could not delete the cloud webhook of %s: %s", entry.title, err
            )
