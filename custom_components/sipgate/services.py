"""The actions ``sipgate.initiate_call`` and ``sipgate.hangup_call``."""

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import service

from .const import (
    ATTR_CALL_ID,
    ATTR_CALLEE,
    ATTR_CALLER,
    ATTR_CALLER_ID,
    ATTR_DEVICE_ID,
    ATTR_HUNG_UP,
    ATTR_SESSION_ID,
    CONF_CALLER_ID,
    CONF_DEVICE_ID,
    DOMAIN,
    LOGGER,
    SERVICE_HANGUP_CALL,
    SERVICE_INITIATE_CALL,
)
from .data import SipgateConfigEntry, SipgateRuntimeData
from .errors import async_request
from .notifications import async_clear_call_problems, async_notify_failed, shorten
from .schema import vol
from .validation import (
    is_ambiguous_number,
    normalize_call_id,
    normalize_caller,
    normalize_extension,
    normalize_number,
)

# The schemas check which fields there are; the handlers check their values,
# so that every mistake gets a translated message. That includes numbers that
# arrive as YAML or JSON numbers (an unquoted 0211123456 is read as another
# number), which must be refused, not turned into text.
INITIATE_CALL_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_CALLEE): object,
        vol.Optional(ATTR_CALLER): object,
        vol.Optional(ATTR_DEVICE_ID): object,
        vol.Optional(ATTR_CALLER_ID): object,
        vol.Optional(ATTR_CONFIG_ENTRY_ID): str,
    }
)
HANGUP_CALL_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_CALL_ID): object,
        vol.Optional(ATTR_CONFIG_ENTRY_ID): str,
    }
)


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
    hass.services.async_register(
        DOMAIN,
        SERVICE_HANGUP_CALL,
        _async_hangup_call,
        schema=HANGUP_CALL_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )


async def _async_initiate_call(call: ServiceCall) -> ServiceResponse:
    """Place a call; report any failure as a notification and raise it."""

    def place(entry: SipgateConfigEntry, runtime: SipgateRuntimeData) -> Awaitable[str]:
        arguments = _call_arguments(call.data, entry.options)
        return async_request(
            call.hass, entry, runtime.client.async_initiate_call(**arguments)
        )

    session_id = await async_run(
        call.hass,
        call.data.get(ATTR_CONFIG_ENTRY_ID),
        ("call_failed", {"callee": call.data[ATTR_CALLEE]}),
        place,
    )
    LOGGER.debug("sipgate started call session %s", session_id)
    # Home Assistant passes it on only to callers that ask for a response.
    return {ATTR_SESSION_ID: session_id}


async def _async_hangup_call(call: ServiceCall) -> ServiceResponse:
    """End a call; a call that is over already is no error."""
    hung_up = await async_hang_up(
        call.hass, call.data.get(ATTR_CONFIG_ENTRY_ID), call.data[ATTR_CALL_ID]
    )
    return {ATTR_HUNG_UP: hung_up}


async def async_hang_up(
    hass: HomeAssistant, entry_id: str | None, call_id: Any
) -> bool:
    """End a call of an account; return False when sipgate had no such call."""

    async def hang_up(entry: SipgateConfigEntry, runtime: SipgateRuntimeData) -> bool:
        valid_id = _normalized(
            {ATTR_CALL_ID: call_id}, ATTR_CALL_ID, normalize_call_id, "invalid_call_id"
        )
        hung_up = await async_request(
            hass,
            entry,
            runtime.client.async_hangup_call(valid_id),
            forbidden="hangup_forbidden",
        )
        if not hung_up:
            # The call is over, but its hangup push was lost or is on its way.
            runtime.calls.async_end_gone(valid_id)
        return hung_up

    return await async_run(
        hass, entry_id, ("hangup_failed", {}), hang_up, call_issue=False
    )


async def async_run[T](
    hass: HomeAssistant,
    entry_id: str | None,
    title: tuple[str, dict[str, object]],
    request: Callable[[SipgateConfigEntry, SipgateRuntimeData], Awaitable[T]],
    *,
    call_issue: bool = True,
) -> T:
    """Run a request of an account; report a failure and raise it.

    The account is the entry named, or the only loaded one. A failure shows
    (or replaces) the account's notification, titled with the translation
    key and placeholders of ``title``; the next success removes it, and the
    repair issue about calls sipgate forbids too unless ``call_issue`` is
    false (the request proves nothing about calls). The entry's runtime data
    is taken before sipgate is asked: the entry may unload or reload while
    the request is under way.
    """
    entry: SipgateConfigEntry | None = None
    runtime: SipgateRuntimeData | None = None
    try:
        entry = _async_get_entry(hass, entry_id)
        runtime = entry.runtime_data
        result = await request(entry, runtime)
    except HomeAssistantError as err:
        if runtime is not None:
            runtime.requests_failed += 1
            runtime.last_error = type(err.__cause__ or err).__name__
            runtime.problems_shown = True
        else:
            # Shown without an account: any account's next success removes it.
            for loaded in hass.config_entries.async_loaded_entries(DOMAIN):
                loaded.runtime_data.problems_shown = True
        await async_notify_failed(hass, entry.entry_id if entry else None, *title, err)
        raise
    runtime.requests_succeeded += 1
    if runtime.problems_shown:
        async_clear_call_problems(hass, entry.entry_id, issue=call_issue)
        # Without the issue removed, the next call still has to look.
        runtime.problems_shown = not call_issue
    return result


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
    callee = _normalized(data, ATTR_CALLEE, normalize_number, "invalid_callee")
    caller = options[CONF_DEVICE_ID]
    if ATTR_CALLER in data:
        caller = _normalized(data, ATTR_CALLER, normalize_caller, "invalid_caller")
    device_id = options[CONF_DEVICE_ID]
    if ATTR_DEVICE_ID in data:
        device_id = _normalized(
            data, ATTR_DEVICE_ID, normalize_extension, "invalid_device_id"
        )
    caller_id = options.get(CONF_CALLER_ID)
    if ATTR_CALLER_ID in data:
        caller_id = _normalized(
            data, ATTR_CALLER_ID, normalize_number, "invalid_caller_id"
        )
    return {
        "caller": caller,
        "callee": callee,
        "device_id": device_id,
        "caller_id": caller_id,
    }


def _normalized(
    data: Mapping[str, Any],
    field: str,
    normalize: Callable[[str], str | None],
    translation_key: str,
) -> str:
    """Return a field's normalised value or raise a translated error.

    Anything but text (a YAML or JSON number, a list) is refused with its own
    message, and so is a number that could be meant with or without a country
    code.
    """
    value = data[field]
    if isinstance(value, str):
        if (result := normalize(value)) is not None:
            return result
        if normalize in {normalize_number, normalize_caller} and (
            is_ambiguous_number(value)
        ):
            translation_key = "ambiguous_number"
    elif value is not None:
        translation_key = "not_text"
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=translation_key,
        translation_placeholders={"field": field, "value": shorten(value)},
    )
