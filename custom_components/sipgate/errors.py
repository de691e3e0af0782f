"""How the client's errors reach the user: translated Home Assistant errors."""

from collections.abc import Awaitable, Mapping
from typing import Final

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from .api import (
    SipgateAuthenticationError,
    SipgateBadRequestError,
    SipgateClientError,
    SipgateConnectionError,
    SipgateError,
    SipgateForbiddenError,
    SipgateInsufficientFundsError,
    SipgateNoAnswerError,
    SipgateRateLimitError,
    SipgateResponseError,
    SipgateServerError,
    SipgateTimeoutError,
)
from .const import DOMAIN, LOGGER
from .data import SipgateConfigEntry
from .notifications import async_create_forbidden_issue

# Translation key of the message for each error the client raises; an error
# of a class not listed uses the key of its nearest listed base class.
ERROR_TRANSLATION_KEYS: Final[dict[type[SipgateError], str]] = {
    SipgateError: "request_failed",
    SipgateBadRequestError: "bad_request",
    SipgateAuthenticationError: "auth_failed",
    SipgateInsufficientFundsError: "insufficient_funds",
    SipgateForbiddenError: "forbidden",
    SipgateClientError: "request_rejected",
    SipgateRateLimitError: "rate_limited",
    SipgateServerError: "server_error",
    SipgateConnectionError: "cannot_connect",
    SipgateNoAnswerError: "no_answer",
    SipgateTimeoutError: "timeout",
    SipgateResponseError: "invalid_response",
}


def translated(
    err: SipgateError, keys: Mapping[type[SipgateError], str] | None = None
) -> HomeAssistantError:
    """Return the translated Home Assistant error for a client error.

    ``keys`` replace the translation keys of ERROR_TRANSLATION_KEYS for
    requests that need their own words.
    """
    placeholders = {"status": str(err.status)}
    all_keys = {**ERROR_TRANSLATION_KEYS, **(keys or {})}
    if isinstance(err, SipgateRateLimitError) and err.retry_after is not None:
        key = "rate_limited_retry_after"
        placeholders["retry_after"] = str(err.retry_after)
    else:
        key = next(all_keys[cls] for cls in type(err).__mro__ if cls in all_keys)
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders,
    )


async def async_request[T](
    hass: HomeAssistant,
    entry: SipgateConfigEntry,
    request: Awaitable[T],
    *,
    keys: Mapping[type[SipgateError], str] | None = None,
) -> T:
    """Await a request of the entry's client; raise its failure translated.

    A 401 starts reauthentication. A 403 raises the repair issue about calls,
    unless ``keys`` give the request its own words for it (naming its scope);
    ``keys`` replace the translation keys of other errors too. An error the
    client does not expect is logged and reported too: the request may have
    reached sipgate, so it is never repeated.
    """
    try:
        return await request
    except SipgateError as err:
        if isinstance(err, SipgateAuthenticationError):
            entry.async_start_reauth(hass)
        if isinstance(err, SipgateForbiddenError) and SipgateForbiddenError not in (
            keys or {}
        ):
            async_create_forbidden_issue(hass, entry.entry_id, entry.title)
        raise translated(err, keys) from err
    except Exception as err:
        LOGGER.exception("Unexpected error while sending a request to sipgate")
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="unexpected_error",
            translation_placeholders={"error": type(err).__name__},
        ) from err
