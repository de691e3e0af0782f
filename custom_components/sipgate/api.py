"""Async client for the sipgate REST API.

This module has no Home Assistant imports: it is the integration's library,
kept in the integration until it moves to its own package. The caller injects
the aiohttp session; the client never creates one.
"""

import base64
from dataclasses import dataclass
from decimal import Decimal
from http import HTTPStatus
import re
from typing import Any, Final
from urllib.parse import quote

import aiohttp
import orjson

DEFAULT_BASE_URL: Final = "https://api.sipgate.com/v2"
DEFAULT_TIMEOUT: Final = 10.0

_JSON: Final = "application/json"
# sipgate counts money in 1/10,000 of the currency.
_BALANCE_UNIT: Final = 10_000
# Retry-After in seconds (sipgate sends no HTTP dates that anyone has seen).
_SECONDS: Final = re.compile(r"[0-9]{1,9}")
# What is not part of an E.164 number in a contact's number.
_PHONE_CHARACTERS: Final = re.compile(r"[^+0-9]")


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
    """The account balance is too low for the call or SMS (402)."""


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
class SipgateIoSettings:
    """The account's sipgate.io settings, from ``GET /settings/sipgateio``.

    sipgate pushes incoming calls to ``incoming_url`` and outgoing calls to
    ``outgoing_url``; the URLs are account-wide.
    """

    incoming_url: str
    outgoing_url: str
    log: bool
    whitelist: tuple[str, ...]


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


@dataclass(frozen=True, slots=True, kw_only=True)
class SmsExtension:
    """An SMS extension (``s0``) of a user, from ``GET /{userId}/sms``.

    sipgate shows ``caller_id`` as the sender of the extension's messages; it
    is empty when sipgate names none.
    """

    id: str
    alias: str
    caller_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Balance:
    """The account balance, from ``GET /balance``.

    ``amount`` is in units of ``currency``, such as ``Decimal("3.5")`` EUR.
    """

    amount: Decimal
    currency: str


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

    async def async_hangup_call(self, call_id: str) -> bool:
        """End an active call (``rtcm:write``).

        Returns False when sipgate does not know the call (404): it is over
        already. Hanging up twice does no harm, so aiohttp may resend it.
        """
        try:
            await self._request(
                "DELETE", f"/calls/{quote(call_id, safe='')}", answer=False
            )
        except SipgateClientError as err:
            if err.status == HTTPStatus.NOT_FOUND:
                return False
            raise
        return True

    async def async_get_active_call_ids(self) -> set[str]:
        """Return the ids of the account's established calls (``rtcm:read``).

        sipgate lists answered calls only, not ringing ones.
        """
        data = await self._request("GET", "/calls")
        try:
            return {_text(call, "callId") for call in data["data"]}
        except (KeyError, TypeError, AttributeError) as err:
            raise SipgateResponseError(
                f"Unexpected call list from sipgate: {err!r}", HTTPStatus.OK
            ) from None

    async def async_get_contact_name(self, number: str) -> str | None:
        """Return the name of a contact with this number (``contacts:read``).

        ``number`` is E.164, as sipgate stores contacts' numbers; ``None`` when
        no contact has it. sipgate's documents name the filter both
        ``phonenumbers[]`` and ``phonenumbers``: both are sent, and only a
        contact that really has the number counts, filtered or not.
        """
        data = await self._request(
            "GET",
            "/contacts",
            params=[("phonenumbers[]", number), ("phonenumbers", number)],
        )
        try:
            return next(
                (
                    str(item["name"])
                    for item in data["items"]
                    if item.get("name")
                    and any(
                        _PHONE_CHARACTERS.sub("", str(entry["number"])) == number
                        for entry in item.get("numbers") or ()
                    )
                ),
                None,
            )
        except (KeyError, TypeError, AttributeError) as err:
            raise SipgateResponseError(
                f"Unexpected contact list from sipgate: {err!r}", HTTPStatus.OK
            ) from None

    async def async_get_sipgateio_settings(self) -> SipgateIoSettings:
        """Return the account's sipgate.io push settings.

        Needs the ``settings:sipgateio:read`` scope; 403 also when the account
        has no sipgate.io package.
        """
        data = await self._request("GET", "/settings/sipgateio")
        try:
            return SipgateIoSettings(
                incoming_url=str(data.get("incomingUrl") or ""),
                outgoing_url=str(data.get("outgoingUrl") or ""),
                log=bool(data.get("log", False)),
                whitelist=tuple(str(item) for item in data.get("whitelist") or ()),
            )
        except (TypeError, AttributeError) as err:
            raise SipgateResponseError(
                f"Unexpected sipgate.io settings from sipgate: {err!r}", HTTPStatus.OK
            ) from None

    async def async_set_sipgateio_settings(self, settings: SipgateIoSettings) -> None:
        """Store the account's sipgate.io push settings.

        Needs ``settings:sipgateio:write``; the settings are account-wide.
        """
        await self._request(
            "PUT",
            "/settings/sipgateio",
            {
                "incomingUrl": settings.incoming_url,
                "outgoingUrl": settings.outgoing_url,
                "log": settings.log,
                "whitelist": list(settings.whitelist),
            },
            answer=False,
        )

    async def async_get_sms_extensions(self, user_id: str) -> list[SmsExtension]:
        """Return the user's SMS extensions (needs the ``sms:read`` scope)."""
        data = await self._request("GET", f"/{user_id}/sms")
        try:
            return [
                SmsExtension(
                    id=_text(item, "id"),
                    alias=str(item.get("alias") or item["id"]),
                    caller_id=str(item.get("callerId") or ""),
                )
                for item in data["items"]
            ]
        except (KeyError, TypeError, AttributeError) as err:
            raise SipgateResponseError(
                f"Unexpected SMS extension list from sipgate: {err!r}", HTTPStatus.OK
            ) from None

    async def async_get_balance(self) -> Balance:
        """Return the account balance (needs the ``balance:read`` scope).

        sipgate may refuse it (403) to users who are not administrators.
        """
        data = await self._request("GET", "/balance")
        try:
            return Balance(
                amount=Decimal(_whole(data, "amount")) / _BALANCE_UNIT,
                currency=_text(data, "currency"),
            )
        except (KeyError, TypeError) as err:
            raise SipgateResponseError(
                f"Unexpected balance from sipgate: {err!r}", HTTPStatus.OK
            ) from None

    async def async_send_sms(
        self,
        *,
        sms_id: str,
        recipient: str,
        message: str,
        send_at: int | None = None,
    ) -> None:
        """Send a text message (needs the ``sessions:sms:write`` scope).

        ``sms_id`` is one of the user's SMS extensions (``s0``); sipgate sends
        from its caller id. ``send_at`` (epoch seconds, in the future, at most
        30 days ahead) schedules the message. sipgate returns no message id
        and no delivery report. The request is sent once and never retried: a
        retry could send the message twice.
        """
        body: dict[str, Any] = {
            "smsId": sms_id,
            "recipient": recipient,
            "message": message,
        }
        if send_at is not None:
            body["sendAt"] = send_at
        await self._request("POST", "/sessions/sms", body, answer=False)

    async def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        params: list[tuple[str, str]] | None = None,
        answer: bool = True,
    ) -> Any:
        """Send one request and return the decoded JSON answer.

        A body is sent as JSON with the session's serializer (Home Assistant's
        is orjson). With ``answer=False`` any success (2xx) returns ``None``
        and its body is not read.
        """
        what = f"{method} {path}"
        try:
            async with self._session.request(
                method,
                f"{self._base_url}{path}",
                headers=self._headers,
                params=params,
                json=body,
                allow_redirects=False,
                timeout=self._timeout,
            ) as response:
                status = response.status
                if status >= HTTPStatus.BAD_REQUEST:
                    raise _status_error(what, response)
                if not answer and status < HTTPStatus.MULTIPLE_CHOICES:
                    return None
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
            return orjson.loads(content)
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


def _whole(data: Any, key: str) -> int:
    """Return a required whole-number field of a JSON object (not a boolean)."""
    value = data[key]
    if type(value) is not int:
        raise TypeError(f"{key} is not a whole number")
    return value


def _text(data: Any, key: str) -> str:
    """Return a required, non-empty string field of a JSON object."""
    value = data[key]
    if not isinstance(value, str) or not value:
        raise TypeError(f"{key} is not a non-empty string")
    return value
