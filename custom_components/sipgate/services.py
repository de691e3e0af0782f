"""The ``sipgate.initiate_call`` action."""

from collections.abc import Callable, Mapping
from typing import Any, Final

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv, service

from .api import (
    SipgateAuthenticationError,
    SipgateBadRequestError,
    SipgateClientError,
    SipgateConnectionError,
    SipgateError,
    SipgateForbiddenError,
    SipgateInsufficientFundsError,
    SipgateRateLimitError,
    SipgateResponseError,
    SipgateServerError,
    SipgateTimeoutError,
)
from .const import (
    ATTR_CALLEE,
    ATTR_CALLER,
    ATTR_CALLER_ID,
    ATTR_CONFIG_ENTRY_ID,
    ATTR_DEVICE_ID,
    ATTR_SESSION_ID,
    CONF_CALLER_ID,
    CONF_DEVICE_ID,
    DOMAIN,
    LOGGER,
    SERVICE_INITIATE_CALL,
)
from .data import SipgateConfigEntry
from .notifications import (
    async_clear_call_problems,
    async_create_forbidden_issue,
    async_notify_call_failed,
)
from .schema import vol
from .validation import normalize_caller, normalize_extension, normalize_number

INITIATE_CALL_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_CALLEE): cv.string,
        vol.Optional(ATTR_CALLER): cv.string,
        vol.Optional(ATTR_DEVICE_ID): cv.string,
        vol.Optional(ATTR_CALLER_ID): cv.string,
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
    }
)

# Translation key of the message for each error the client raises.
ERROR_TRANSLATION_KEYS: Final[dict[type[SipgateError], str]] = {
    SipgateBadRequestError: "bad_request",
    SipgateAuthenticationError: "auth_failed",
    SipgateInsufficientFundsError: "insufficient_funds",
    SipgateForbiddenError: "forbidden",
    SipgateClientError: "request_rejected",
    SipgateRateLimitError: "rate_limited",
    SipgateServerError: "server_error",
    SipgateTimeoutError: "timeout",
    SipgateConnectionError: "cannot_connect",
    SipgateResponseError: "invalid_response",
}


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_INITIATE_CALL,
        _async_initiate_call,
        schema=INITIATE_CALL_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )


async def _async_initiate_call(call: ServiceCall) -> ServiceResponse:
    """Place a call; report any failure as a notification and raise it."""
    hass = call.hass
    entry: SipgateConfigEntry | None = None
    try:
        entry = _async_get_entry(hass, call.data.get(ATTR_CONFIG_ENTRY_ID))
        arguments = _call_arguments(call.data, entry.options)
        session_id = await _async_place_call(hass, entry, arguments)
    except HomeAssistantError as err:
        if entry is not None:
            entry.runtime_data.calls_failed += 1
            entry.runtime_data.last_error = type(err.__cause__ or err).__name__
        await async_notify_call_failed(
            hass, entry.entry_id if entry else None, call.data[ATTR_CALLEE], err
        )
        raise
    entry.runtime_data.calls_succeeded += 1
    async_clear_call_problems(hass, entry.entry_id)
    LOGGER.debug("sipgate started call session %s", session_id)
    return {ATTR_SESSION_ID: session_id} if call.return_response else None


def _async_get_entry(hass: HomeAssistant, entry_id: str | None) -> SipgateConfigEntry:
    """Return the entry to call with: the one named, or the only loaded one."""
    if entry_id is not None:
        return service.async_get_config_entry(hass, DOMAIN, entry_id)
    loaded: list[SipgateConfigEntry] = hass.config_entries.async_loaded_entries(DOMAIN)
    if len(loaded) != 1:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_required" if loaded else "no_loaded_entry",
        )
    return loaded[0]


def _call_arguments(
    data: Mapping[str, Any], options: Mapping[str, Any]
) -> dict[str, Any]:
    """Return the client's call arguments from the action data and the defaults.

    Raises ServiceValidationError for input that is not a number or extension,
    before any request is made.
    """
    callee = _normalized(data[ATTR_CALLEE], normalize_number, "invalid_callee")
    caller = options[CONF_DEVICE_ID]
    if ATTR_CALLER in data:
        caller = _normalized(data[ATTR_CALLER], normalize_caller, "invalid_caller")
    device_id = options[CONF_DEVICE_ID]
    if ATTR_DEVICE_ID in data:
        device_id = _normalized(
            data[ATTR_DEVICE_ID], normalize_extension, "invalid_device_id"
        )
    caller_id = options.get(CONF_CALLER_ID)
    if ATTR_CALLER_ID in data:
        caller_id = _normalized(
            data[ATTR_CALLER_ID], normalize_number, "invalid_caller_id"
        )
    return {
        "caller": caller,
        "callee": callee,
        "device_id": device_id,
        "caller_id": caller_id,
    }


def _normalized(
    value: str, normalize: Callable[[str], str | None], translation_key: str
) -> str:
    """Return the normalised value or raise a translated validation error."""
    result = normalize(value)
    if result is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=translation_key,
            translation_placeholders={"value": value},
        )
    return result


async def _async_place_call(
    hass: HomeAssistant, entry: SipgateConfigEntry, arguments: dict[str, Any]
) -> str:
    """Ask sipgate to place the call and translate the client's errors."""
    try:
        return await entry.runtime_data.client.async_initiate_call(**arguments)
    except SipgateError as err:
        if isinstance(err, SipgateAuthenticationError):
            entry.async_start_reauth(hass)
        if isinstance(err, SipgateForbiddenError):
            async_create_forbidden_issue(hass, entry.entry_id, entry.title)
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key=ERROR_TRANSLATION_KEYS[type(err)],
            translation_placeholders={"status": str(err.status)},
        ) from err
