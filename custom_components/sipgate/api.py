"""Async client for the sipgate REST API.

This module has no Home Assistant imports: it is the integration's library,
kept in the integration until it moves to its own package. The caller injects
the aiohttp session; the client never creates one.
"""

import base64
from dataclasses import dataclass
from http import HTTPStatus
import json
import re
from typing import Any, Final

import aiohttp

DEFAULT_BASE_URL: Final = "https://api.sipgate.com/v2"
DEFAULT_TIMEOUT: Final = 10.0

_JSON: Final = "application/json"
# Retry-After in seconds (sipgate sends no HTTP dates that anyone has seen).
_SECONDS: Final = re.compile(r"[0-9]{1,9}")


class SipgateError(Exception):
    """Base class of every error the client raises.

    ``status`` is the HTTP status sipgate answered with, or ``None`` when no
    answer arrived. Messages name the method, the path and the status only: the
    credentials are never part of them.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        """Store the message and the HTTP status."""
        super().__init__(message)
        self.status = status


class SipgateBadRequestError(SipgateError):
    """sipgate rejected the request as invalid (400)."""


class SipgateAuthenticationError(SipgateError):
    """The token id or token is wrong or revoked (401)."""


class SipgateInsufficientFundsError(SipgateError):
    """The account balance is too low for the call (402)."""


class SipgateForbiddenError(SipgateError):
    """The token or user may not do this (403)."""


class SipgateClientError(SipgateError):
    """sipgate answered with another 4xx status (404, 405, 415, ...)."""


class SipgateRateLimitError(SipgateError):
    """Too many requests (429)."""

    def __init__(
        self, message: str, status: int | None = None, retry_after: int | None = None
    ) -> None:
        """Store the seconds sipgate asked to wait, when it said."""
        super().__init__(message, status)
        self.retry_after = retry_after


class SipgateServerError(SipgateError):
    """sipgate failed on its side (5xx)."""


class SipgateConnectionError(SipgateError):
    """sipgate could not be reached: the request did not go out.

    Its subclass ``SipgateNoAnswerError`` says that the request may have gone
    out and no answer came.
    """


class SipgateNoAnswerError(SipgateConnectionError):
    """The request went out (or may have), but no answer came.

    The connection broke or timed out after the request was sent: sipgate may
    have received it and acted on it, so sending it again may do it twice.
    """


class SipgateTimeoutError(SipgateNoAnswerError):
    """sipgate did not answer in time."""


class SipgateResponseError(SipgateError):
    """sipgate answered with a body the client cannot read."""


_STATUS_ERRORS: Final[dict[int, type[SipgateError]]] = {
    HTTPStatus.BAD_REQUEST: SipgateBadRequestError,
    HTTPStatus.UNAUTHORIZED: SipgateAuthenticationError,
    HTTPStatus.PAYMENT_REQUIRED: SipgateInsufficientFundsError,
    HTTPStatus.FORBIDDEN: SipgateForbiddenError,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class UserInfo:
    """The authenticated web user, from ``GET /authorization/userinfo``."""

    sub: str
    master_sip_id: str
    domain: str
    locale: str

    @property
    def unique_id(self) -> str:
        """Return the user's full id, such as ``1234567w0``."""
        return f"{self.master_sip_id}{self.sub}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Phoneline:
    """A phoneline (``p0``) a device is active on."""

    id: str
    alias: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Device:
    """A phone of the user, from ``GET /{userId}/devices``."""

    id: str
    alias: str
    type: str
    online: bool
    phonelines: tuple[Phoneline, ...] = ()


class SipgateClient:
    """Talks to the sipgate REST API with a personal access token."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        token_id: str,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """Keep the injected session, the credentials and the base URL."""
        self._session = session
        credentials = base64.b64encode(f"{token_id}:{token}".encode()).decode()
        self._headers = {"Accept": _JSON, "Authorization": f"Basic {credentials}"}
        self._base_url = base_url.rstrip("/")
        # Connecting gets half the time: a timeout then means not sent.
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=timeout / 2)

    async def async_get_userinfo(self) -> UserInfo:
        """Return who the token belongs to; checks the credentials."""
        data = await self._request("GET", "/authorization/userinfo")
        try:
            return UserInfo(
                sub=_text(data, "sub"),
                master_sip_id=_text(data, "masterSipId"),
                domain=str(data.get("domain", "")),
                locale=str(data.get("locale", "")),
            )
        except (KeyError, TypeError, AttributeError) as err:
            raise SipgateResponseError(
                f"Unexpected userinfo from sipgate: {err!r}", HTTPStatus.OK
            ) from None

    async def async_get_devices(self, user_id: str) -> list[Device]:
        """Return the user's devices (needs the ``devices:read`` scope)."""
        data = await self._request("GET", f"/{user_id}/devices")
        try:
            return [
                Device(
                    id=_text(item, "id"),
                    alias=str(item.get("alias") or item["id"]),
                    type=str(item.get("type", "")),
                    online=bool(item.get("online", False)),
                    phonelines=tuple(
                        Phoneline(
                            id=_text(line, "id"),
                            alias=str(line.get("alias") or line["id"]),
                        )
                        for line in item.get("activePhonelines") or ()
                    ),
                )
                for item in data["items"]
            ]
        except (KeyError, TypeError, AttributeError) as err:
            raise SipgateResponseError(
                f"Unexpected device list from sipgate: {err!r}", HTTPStatus.OK
            ) from None

    async def async_initiate_call(
        self,
        *,
        caller: str,
        callee: str,
        device_id: str | None = None,
        caller_id: str | None = None,
    ) -> str:
        """Start a click-to-dial call and return its session id.

        sipgate rings ``caller`` first and dials ``callee`` once it is picked
        up. The request is sent once and never retried: a retry could ring a
        phone twice.
        """
        body: dict[str, str] = {"caller": caller, "callee": callee}
        if device_id is not None:
            body["deviceId"] = device_id
        if caller_id is not None:
            body["callerId"] = caller_id
        data = await self._request("POST", "/sessions/calls", body)
        session_id = data.get("sessionId") if isinstance(data, dict) else None
        if not isinstance(session_id, str) or not session_id:
            raise SipgateResponseError(
                "sipgate accepted the call but sent no session id", HTTPStatus.OK
            )
        return session_id

    async def _request(
        self, method: str, path: str, body: dict[str, str] | None = None
    ) -> Any:
        """Send one request and return the decoded JSON answer.

        A body is sent as JSON with the session's serializer (Home Assistant's
        is orjson).
        """
        what = f"{method} {path}"
        try:
            async with self._session.request(
                method,
                f"{self._base_url}{path}",
                headers=self._headers,
                json=body,
                allow_redirects=False,
                timeout=self._timeout,
            ) as response:
                status = response.status
                if status >= HTTPStatus.BAD_REQUEST:
                    raise _status_error(what, response)
                content = await response.read()
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as err:
            raise SipgateConnectionError(
                f"Cannot reach sipgate for {what}: {type(err).__name__}"
            ) from None
        except TimeoutError:
            raise SipgateTimeoutError(
                f"sipgate did not answer {what} within {self._timeout.total:g} s"
            ) from None
        except aiohttp.ClientError as err:
            raise SipgateNoAnswerError(
                f"No answer from sipgate to {what}: {type(err).__name__}"
            ) from None
        if status != HTTPStatus.OK:
            raise SipgateResponseError(f"sipgate answered {what} with {status}", status)
        try:
            return json.loads(content.decode())
        except ValueError:
            raise SipgateResponseError(
                f"sipgate answered {what} with a body that is not JSON", status
            ) from None


def _status_error(what: str, response: aiohttp.ClientResponse) -> SipgateError:
    """Return the error for an HTTP error status."""
    status = response.status
    message = f"sipgate answered {what} with {status}"
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        retry_after = response.headers.get("Retry-After", "")
        return SipgateRateLimitError(
            message,
            status,
            int(retry_after) if _SECONDS.fullmatch(retry_after) else None,
        )
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return SipgateServerError(message, status)
    return _STATUS_ERRORS.get(status, SipgateClientError)(message, status)


def _text(data: Any, key: str) -> str:
    """Return a required, non-empty string field of a JSON object."""
    value = data[key]
    if not isinstance(value, str) or not value:
        raise TypeError(f"{key} is not a non-empty string")
    return value
