"""The actions of the integration, and the requests of its entities.

The actions are ``sipgate.initiate_call``, ``sipgate.hangup_call`` and
``sipgate.send_sms``; the contacts' buttons and notify entities place their
calls and send their SMS the same way.
"""

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
import math
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
from homeassistant.util import dt as dt_util

from .api import (
    SipgateBadRequestError,
    SipgateError,
    SipgateForbiddenError,
    SipgateInsufficientFundsError,
)
from .const import (
    ATTR_CALL_ID,
    ATTR_CALLEE,
    ATTR_CALLER,
    ATTR_CALLER_ID,
    ATTR_DEVICE_ID,
    ATTR_HUNG_UP,
    ATTR_MESSAGE,
    ATTR_RECIPIENT,
    ATTR_SEND_AT,
    ATTR_SESSION_ID,
    ATTR_SMS_ID,
    CONF_CALLER_ID,
    CONF_DEVICE_ID,
    CONF_SMS_ID,
    DEFAULT_SMS_ID,
    DOMAIN,
    LOGGER,
    SERVICE_HANGUP_CALL,
    SERVICE_INITIATE_CALL,
    SERVICE_SEND_SMS,
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
    normalize_sms_id,
)

# What a failed SMS is told with where it differs from a failed call.
SMS_ERROR_KEYS: Final[dict[type[SipgateError], str]] = {
    SipgateBadRequestError: "sms_bad_request",
    SipgateForbiddenError: "sms_forbidden",
}
# sipgate sends an SMS at most this far ahead.
SEND_AT_LIMIT: Final = timedelta(days=30)

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
SEND_SMS_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_RECIPIENT): object,
        vol.Required(ATTR_MESSAGE): object,
        vol.Optional(ATTR_SMS_ID): object,
        vol.Optional(ATTR_SEND_AT): object,
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
    hass.services.async_register(
        DOMAIN, SERVICE_SEND_SMS, _async_send_sms, schema=SEND_SMS_SCHEMA
    )


async def _async_initiate_call(call: ServiceCall) -> ServiceResponse:
    """Place a call; report any failure as a notification and raise it."""
    session_id = await async_place_call(
        call.hass, call.data.get(ATTR_CONFIG_ENTRY_ID), call.data
    )
    # Home Assistant passes it on only to callers that ask for a response.
    return {ATTR_SESSION_ID: session_id}


async def async_place_call(
    hass: HomeAssistant, entry_id: str | None, data: Mapping[str, Any]
) -> str:
    """Place a call with the fields of ``initiate_call``; return its session id.

    A failure is shown as the account's notification and raised.
    """

    def place(entry: SipgateConfigEntry, runtime: SipgateRuntimeData) -> Awaitable[str]:
        arguments = _call_arguments(data, entry.options)
        return _async_paid(
            runtime,
            async_request(hass, entry, runtime.client.async_initiate_call(**arguments)),
        )

    session_id = await async_run(
        hass, entry_id, ("call_failed", {"callee": data[ATTR_CALLEE]}), place
    )
    LOGGER.debug("sipgate started call session %s", session_id)
    return session_id


async def _async_send_sms(call: ServiceCall) -> None:
    """Send an SMS; report any failure as a notification and raise it."""
    await async_send_sms(call.hass, call.data.get(ATTR_CONFIG_ENTRY_ID), call.data)


async def async_send_sms(
    hass: HomeAssistant, entry_id: str | None, data: Mapping[str, Any]
) -> None:
    """Send an SMS with the fields of ``send_sms``, once and never again.

    A failure is shown as the account's notification and raised.
    """

    def send(entry: SipgateConfigEntry, runtime: SipgateRuntimeData) -> Awaitable[None]:
        arguments = _sms_arguments(data, entry.options)
        return _async_paid(
            runtime,
            async_request(
                hass,
                entry,
                runtime.client.async_send_sms(**arguments),
                keys=SMS_ERROR_KEYS,
            ),
        )

    await async_run(
        hass,
        entry_id,
        ("sms_failed", {"recipient": data[ATTR_RECIPIENT]}),
        send,
        call_issue=False,
    )


async def _async_paid[T](runtime: SipgateRuntimeData, request: Awaitable[T]) -> T:
    """Await a request that may cost money, then have the balance read again.

    So does a refusal for a balance too low; other failures change nothing.
    """
    try:
        result = await request
    except HomeAssistantError as err:
        if isinstance(err.__cause__, SipgateInsufficientFundsError):
            runtime.balance.async_spent()
        raise
    runtime.balance.async_spent()
    return result


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
            keys={SipgateForbiddenError: "hangup_forbidden"},
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


def _sms_arguments(
    data: Mapping[str, Any], options: Mapping[str, Any]
) -> dict[str, Any]:
    """Return the client's SMS arguments from the action data and the defaults.

    Raises ServiceValidationError for a recipient that is not a number, a
    blank message, an SMS extension that is not one or a time to send that is
    not between now and SEND_AT_LIMIT from now, before any request is made.
    """
    recipient = _normalized(data, ATTR_RECIPIENT, normalize_number, "invalid_recipient")
    message = data[ATTR_MESSAGE]
    if message is not None and not isinstance(message, str):
        # Not "empty": an unquoted 0123 arrives as another number.
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_text",
            translation_placeholders={"field": ATTR_MESSAGE, "value": shorten(message)},
        )
    if not message or not message.strip():
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="invalid_message"
        )
    try:
        message.encode()
    except UnicodeEncodeError:
        # Only half of a character (a lone surrogate), as a template can make.
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="message_not_encodable"
        ) from None
    sms_id = options.get(CONF_SMS_ID, DEFAULT_SMS_ID)
    if ATTR_SMS_ID in data:
        sms_id = _normalized(data, ATTR_SMS_ID, normalize_sms_id, "invalid_sms_id")
    send_at = None
    if ATTR_SEND_AT in data:
        # Rounded up: a time within the next second stays in the future.
        send_at = math.ceil(_send_at(data[ATTR_SEND_AT]).timestamp())
    return {
        "sms_id": sms_id,
        "recipient": recipient,
        "message": message,
        "send_at": send_at,
    }


def _send_at(value: Any) -> datetime:
    """Return when to send an SMS: a future time, at most 30 days ahead.

    Text is read as Home Assistant reads datetimes; a time without a zone is
    in Home Assistant's time zone.
    """
    try:
        when = dt_util.parse_datetime(value) if isinstance(value, str) else value
    except ValueError:  # in the form of one, but no date: 2026-02-30
        when = None
    if not isinstance(when, datetime):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_send_at",
            translation_placeholders={"value": shorten(value)},
        )
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt_util.get_default_time_zone())
    now = dt_util.utcnow()
    if not now < when <= now + SEND_AT_LIMIT:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="send_at_out_of_range",
            translation_placeholders={"value": shorten(value)},
        )
    return when


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
