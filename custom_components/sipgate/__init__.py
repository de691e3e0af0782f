"""Place phone calls through sipgate from Home Assistant."""

from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryError,
    ConfigEntryNotReady,
)
from homeassistant.helpers import config_validation as cv
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
from .const import CONF_BASE_URL, CONF_TOKEN_ID, DOMAIN
from .data import SipgateConfigEntry, SipgateRuntimeData
from .notifications import async_clear_call_problems
from .services import async_setup_services

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the sipgate actions once for all entries."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: SipgateConfigEntry) -> bool:
    """Check the token with sipgate and keep the client for the actions."""
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
    entry.runtime_data = SipgateRuntimeData(client=client, account=account)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: SipgateConfigEntry) -> bool:
    """Unload an entry; the client holds no resources of its own."""
    return True


async def async_remove_entry(hass: HomeAssistant, entry: SipgateConfigEntry) -> None:
    """Remove the entry's failure notification and repair issue with it."""
    async_clear_call_problems(hass, entry.entry_id)
