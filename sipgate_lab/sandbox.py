"""A sipgate API simulator for tests and demos: the REST API and sipgate.io.

REST: it answers the endpoints the integration uses the way sipgate documents
them: HTTP Basic authentication with personal access tokens and their scopes,
``GET /authorization/userinfo``, ``GET /{userId}/devices`` and
``POST /sessions/calls`` with sipgate's validation (400, 402, 403, 415),
``GET /contacts``, ``GET /calls`` and ``DELETE /calls/{callId}`` (RTCM),
``GET``/``PUT /settings/sipgateio``, ``GET /{userId}/sms`` and
``POST /sessions/sms`` (400, 402, 403, 415; 204 without body),
``GET /balance``, 431 for an oversized ``Authorization`` header, and 404/405
for unknown paths and methods. It records every API request it receives.
Scenarios (balance, token validity, a delay, a 5xx, a dropped connection, 429
with ``Retry-After``) can be switched at run time through the control
endpoints under ``/_sandbox/``.

Push side: like sipgate.io it POSTs the form-encoded, signed pushes of a
simulated call (``newCall``, then ``answer`` and ``hangup`` to the URLs the
answer to ``newCall`` asks for) to any URL. It signs with an RSA key of its
own, made on first use, and publishes the public key
(``push_public_key_pem``, ``GET /_sandbox/push/key``). Tests in the same
process use ``simulate_call`` and ``send_push``; other processes
``POST /_sandbox/push/call``.

Run it on its own with ``python -m sipgate_lab.sandbox --port 8099`` from the
repository (``scripts/sandbox`` does that in the project's Python 3.14
environment); it logs every request. It is a test and demo tool: the
integration never uses it.
"""

import argparse
import asyncio
import base64
import binascii
from collections.abc import Callable, Coroutine, Sequence
import contextlib
from dataclasses import asdict, dataclass, field
import enum
from http import HTTPStatus
import json
import logging
import re
import secrets
import time
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit
from xml.etree import ElementTree as ET

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

_LOGGER = logging.getLogger(__name__)

MASTER_SIP_ID = "1234567"
CALL_SCOPES = frozenset({"all", "sessions:write", "sessions:calls:write"})
SMS_SEND_SCOPES = frozenset({"all", "sessions:write", "sessions:sms:write"})
SMS_READ_SCOPES = frozenset({"all", "sms:read"})
BALANCE_SCOPES = frozenset({"all", "balance:read"})
DEVICE_SCOPES = frozenset({"all", "devices:read"})
CONTACT_SCOPES = frozenset({"all", "contacts:read"})
RTCM_READ_SCOPES = frozenset({"all", "rtcm:read"})
RTCM_WRITE_SCOPES = frozenset({"all", "rtcm:write"})
# sipgate also accepts the broader settings scopes for these two.
SIPGATEIO_READ_SCOPES = frozenset({"all", "settings:read", "settings:sipgateio:read"})
SIPGATEIO_WRITE_SCOPES = frozenset(
    {"all", "settings:write", "settings:sipgateio:write"}
)


@dataclass(frozen=True)
class SandboxToken:
    """A personal access token of the sandbox."""

    token_id: str
    token: str
    user: str
    scopes: frozenset[str]

    @property
    def authorization(self) -> str:
        """Return the ``Authorization`` header value for this token."""
        raw = base64.b64encode(f"{self.token_id}:{self.token}".encode()).decode()
        return f"Basic {raw}"


# Tokens the sandbox knows: a full one, one with ``sessions:calls:write``
# only, one without ``sessions:calls:write``, one of another user of the
# account, and three full ones but for the balance, the SMS scopes, or
# sending SMS.
TOKEN = SandboxToken(
    "token-SANDB0",
    "5e0d7b1c-3f4a-4c2e-9b8d-1a2b3c4d5e6f",
    "w0",
    frozenset(
        {
            "sessions:calls:write",
            "devices:read",
            "rtcm:read",
            "rtcm:write",
            "contacts:read",
            "settings:sipgateio:read",
            "settings:sipgateio:write",
            "sms:read",
            "sessions:sms:write",
            "balance:read",
        }
    ),
)
TOKEN_NO_DEVICES = SandboxToken(
    "token-NODEV0",
    "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
    "w0",
    frozenset({"sessions:calls:write"}),
)
TOKEN_NO_CALLS = SandboxToken(
    "token-NOCAL0",
    "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
    "w0",
    frozenset({"devices:read"}),
)
TOKEN_OTHER_USER = SandboxToken(
    "token-OTHER1",
    "11111111-2222-4333-8444-555555555555",
    "w1",
    frozenset({"sessions:calls:write", "devices:read"}),
)
TOKEN_NO_BALANCE = SandboxToken(
    "token-NOBAL0",
    "7d6c5b4a-3928-4716-a5b4-c3d2e1f0a9b8",
    "w0",
    TOKEN.scopes - {"balance:read"},
)
TOKEN_NO_SMS = SandboxToken(
    "token-NOSMS0",
    "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
    "w0",
    TOKEN.scopes - {"sms:read", "sessions:sms:write"},
)
TOKEN_NO_SMS_SEND = SandboxToken(
    "token-NOSND0",
    "8e9f0a1b-2c3d-4e5f-a6b7-c8d9e0f1a2b3",
    "w0",
    TOKEN.scopes - {"sessions:sms:write"},
)
TOKENS = (
    TOKEN,
    TOKEN_NO_DEVICES,
    TOKEN_NO_CALLS,
    TOKEN_OTHER_USER,
    TOKEN_NO_BALANCE,
    TOKEN_NO_SMS,
    TOKEN_NO_SMS_SEND,
)


def _device(device_id: str, alias: str, device_type: str) -> dict[str, Any]:
    """Return a device as ``GET /{userId}/devices`` lists it."""
    return {
        "id": device_id,
        "alias": alias,
        "type": device_type,
        "online": device_type == "REGISTER",
        "dnd": False,
        "activePhonelines": [{"id": "p0", "alias": "Erika Mustermann"}],
        "activeGroups": [],
    }


DEVICES: dict[str, list[dict[str, Any]]] = {
    "w0": [
        _device("e0", "VoIP-Telefon von Erika Mustermann", "REGISTER"),
        _device("y0", "Handy von Erika Mustermann", "MOBILE"),
        _device("x0", "Büro-Festnetz", "EXTERNAL"),
    ],
    "w1": [_device("e1", "VoIP-Telefon von Max Mustermann", "REGISTER")],
}
# Phonelines each user may ring as a caller, besides the devices.
PHONELINES = {"w0": {"p0"}, "w1": {"p1"}}
# Each user's number: the ``to`` of a simulated incoming call (``DEFAULT_TO``)
# and the caller id of the user's SMS extension.
USER_NUMBERS = {"w0": "+4921199990", "w1": "+4921199991"}
# Each user's SMS extensions, as ``GET /{userId}/sms`` lists them; like device
# ids, their ids are unique in the account.
SMS_EXTENSIONS: dict[str, list[dict[str, Any]]] = {
    "w0": [
        {"id": "s0", "alias": "SMS von Erika Mustermann", "callerId": "+4921199990"}
    ],
    "w1": [{"id": "s1", "alias": "SMS von Max Mustermann", "callerId": "+4921199991"}],
}
# How far ahead ``sendAt`` of ``POST /sessions/sms`` may be, in seconds.
MAX_SEND_AHEAD = 30 * 24 * 60 * 60


def _contact(
    contact_id: str, name: str, numbers: list[tuple[str, str]], scope: str
) -> dict[str, Any]:
    """Return a contact as ``GET /contacts`` lists it."""
    return {
        "id": contact_id,
        "name": name,
        "numbers": [{"number": number, "type": [kind]} for number, kind in numbers],
        "scope": scope,
    }


# The account's contacts, in the order ``GET /contacts`` lists them.
CONTACTS: list[dict[str, Any]] = [
    _contact(
        "5f1c2a9e-0b7d-4e3a-9c21-6d8e4f0a1b01",
        "Oma Erna",
        [("+4921112345678", "home")],
        "PRIVATE",
    ),
    _contact(
        "5f1c2a9e-0b7d-4e3a-9c21-6d8e4f0a1b02",
        "Nachbar Klaus",
        [("+492111234999", "home"), ("+4915799912345", "cell")],
        "PRIVATE",
    ),
    _contact(
        "5f1c2a9e-0b7d-4e3a-9c21-6d8e4f0a1b03",
        "Praxis Dr. Weber",
        [("+4921155501", "work")],
        "SHARED",
    ),
]
# The default of sipgate.io's account-wide settings (``/settings/sipgateio``).
SIPGATEIO_DEFAULTS: dict[str, Any] = {
    "incomingUrl": "",
    "outgoingUrl": "",
    "log": False,
    "whitelist": [],
}

# The sipgate.io setting with the push URL of each call direction.
_SIPGATEIO_URLS = {"in": "incomingUrl", "out": "outgoingUrl"}
_EXTENSION = re.compile(r"[a-z](?:0|[1-9][0-9]*)")
# Numbers as sipgate's own parser reads them: international with +
# or 00, national with a leading 0, short numbers (110, 116117), and, like
# sipgate, 7 to 15 bare digits as international without the +.
_NUMBER = re.compile(r"(?:\+|00)[1-9][0-9]{6,14}|0[1-9][0-9]{1,13}|[1-9][0-9]{2,14}")
# Longer Authorization headers are refused with 431, as a front proxy does;
# aiohttp itself answers 400 to any header line over 8190 bytes.
MAX_AUTHORIZATION = 4096

# How sipgate.io posts a push, and the header of its signature.
PUSH_HEADERS = {
    "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
    "User-Agent": "sipgate.io",
    "Accept": "application/xml, text/plain, text/html",
}
SIGNATURE_HEADER = "X-Sipgate-Signature"
HANGUP_CAUSES = (
    "normalClearing",
    "busy",
    "cancel",
    "noAnswer",
    "congestion",
    "notFound",
    "forwarded",
)
# What a simulated call does after ``hangup_after`` seconds: send ``hangup``,
# end without a push, or stay until ``DELETE /calls/{callId}``.
HANGUP_SCRIPTS = ("send", "drop", "on_delete")
# Seconds the sandbox waits for the answer to a push (sipgate: about 10).
PUSH_TIMEOUT = 10.0
# The parties of a simulated call unless a test names others.
DEFAULT_FROM = "492111234567"
DEFAULT_TO = USER_NUMBERS["w0"].removeprefix("+")
DEFAULT_USERS = ("Erika Mustermann",)

type CallState = Literal["ringing", "established", "ended"]


def _hex_id(length: int) -> str:
    """Return a random id of ``length`` uppercase hexadecimal digits."""
    return secrets.token_hex(length // 2).upper()


@dataclass
class Scenario:
    """What the sandbox does besides answering like sipgate.

    ``balance`` is in 1/10000 EUR as sipgate counts it (``GET /balance``
    answers it); a call or an SMS needs more than zero. ``server_error``
    answers every API request with that 5xx status, ``rate_limit`` with 429
    and that ``Retry-After``, ``drop_connection`` closes the connection
    without an answer, and ``delay`` waits that many seconds before answering.
    """

    balance: int = 35000
    token_valid: bool = True
    delay: float = 0.0
    server_error: int | None = None
    drop_connection: bool = False
    rate_limit: int | None = None


@dataclass
class RecordedRequest:
    """One API request as the sandbox received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: str
    json: Any = None


@dataclass
class SentPush:
    """One push the sandbox sent, and the answer it got.

    ``status`` is None when no answer came (no connection, or no answer within
    ``PUSH_TIMEOUT``); ``text`` then says why. ``content_type`` is the
    answer's ``Content-Type`` header as sent.
    """

    event: str
    call_id: str
    url: str
    body: bytes
    signature: str | None
    status: int | None
    text: str
    content_type: str

    @property
    def fields(self) -> list[tuple[str, str]]:
        """Return the form fields of the body, in their order."""
        return parse_qsl(self.body.decode(errors="replace"), keep_blank_values=True)


@dataclass(kw_only=True)
class SimulatedCall:
    """A call the sandbox simulates on the push side, and how it went.

    The script: ``answer`` (after ``answer_after`` seconds), then after
    ``hangup_after`` seconds the ``hangup`` script (``HANGUP_SCRIPTS``).
    ``on_answer`` and ``on_hangup`` are the URLs the answer to ``newCall``
    asked for.
    """

    url: str
    direction: str = "in"
    from_: str = DEFAULT_FROM
    to: str = DEFAULT_TO
    users: tuple[str, ...] = DEFAULT_USERS
    answer: bool = True
    answering_number: str | None = None
    answer_after: float = 0.0
    hangup: str = "send"
    hangup_after: float = 0.0
    cause: str | None = None
    call_id: str = field(default_factory=lambda: _hex_id(32))
    state: CallState = "ringing"
    answered: bool = False
    on_answer: str | None = None
    on_hangup: str | None = None
    pushes: list[SentPush] = field(default_factory=list)
    participant_ids: tuple[str, str] = field(
        default_factory=lambda: (_hex_id(16), _hex_id(16))
    )
    ended: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def events(self) -> list[str]:
        """Return the events of the pushes sent so far."""
        return [push.event for push in self.pushes]

    def end(self) -> None:
        """Mark the call as ended, which stops its script."""
        self.state = "ended"
        self.ended.set()

    def rtcm(self) -> dict[str, Any]:
        """Return the call as ``GET /calls`` lists it."""
        local, remote = (
            (self.to, self.from_) if self.direction == "in" else (self.from_, self.to)
        )
        return {
            "callId": self.call_id,
            "muted": False,
            "recording": False,
            "hold": False,
            "participants": [
                _participant(self.participant_ids[0], local, owner=True),
                _participant(self.participant_ids[1], remote, owner=False),
            ],
        }

    def summary(self) -> dict[str, Any]:
        """Return the call as ``GET /_sandbox/push/calls`` lists it."""
        return {
            "callId": self.call_id,
            "url": self.url,
            "direction": self.direction,
            "from": self.from_,
            "to": self.to,
            "state": self.state,
            "onAnswer": self.on_answer,
            "onHangup": self.on_hangup,
            "pushes": [
                {"event": push.event, "url": push.url, "status": push.status}
                for push in self.pushes
            ],
        }

    def new_call_fields(self) -> list[tuple[str, str]]:
        """Return the fields of the ``newCall`` push.

        Users get the IDs ``w0``, ``w1``, … in their order; without users
        ``user[]`` is one empty value and there are no user IDs.
        """
        fields = [
            ("event", "newCall"),
            ("direction", self.direction),
            ("from", self.from_),
            ("to", self.to),
            ("callId", self.call_id),
            ("origCallId", self.call_id),
        ]
        fields += [("user[]", name) for name in self.users or ("",)]
        fields += [("userId[]", f"w{index}") for index in range(len(self.users))]
        fields += [
            ("fullUserId[]", f"{MASTER_SIP_ID}w{index}")
            for index in range(len(self.users))
        ]
        fields.append(("xcid", secrets.token_hex(16)))
        return fields

    def answer_fields(self) -> list[tuple[str, str]]:
        """Return the fields of the ``answer`` push.

        An incoming call also names the first user, who answered it.
        """
        fields = [
            ("event", "answer"),
            ("callId", self.call_id),
            ("from", self.from_),
            ("to", self.to),
            ("direction", self.direction),
            ("answeringNumber", self.answering_number or self.to),
        ]
        if self.direction == "in":
            fields.append(("user", self.users[0] if self.users else ""))
            if self.users:
                fields += [("userId", "w0"), ("fullUserId", f"{MASTER_SIP_ID}w0")]
        return fields

    def hangup_fields(self, cause: str) -> list[tuple[str, str]]:
        """Return the fields of the ``hangup`` push with this cause."""
        fields = [
            ("event", "hangup"),
            ("callId", self.call_id),
            ("cause", cause),
            ("from", self.from_),
            ("to", self.to),
            ("direction", self.direction),
        ]
        if self.answered:
            fields.append(("answeringNumber", self.answering_number or self.to))
        return fields


def _participant(participant_id: str, number: str, *, owner: bool) -> dict[str, Any]:
    """Return a participant of ``GET /calls`` for a push-style number."""
    if number.isdigit():
        number = f"+{number}"
    elif not number.startswith("+"):
        number = ""  # anonymous
    return {
        "participantId": participant_id,
        "phoneNumber": number,
        "muted": False,
        "hold": False,
        "owner": owner,
    }


class _Signed(enum.Enum):
    """The default of ``send_push``: sign the body."""

    SIGNED = enum.auto()


@dataclass
class SipgateSandbox:
    """The simulator: its state, its records and its aiohttp application.

    ``calls`` are the click-to-dial requests, ``sms`` the bodies of the SMS
    sent, ``push_calls`` the simulated calls of the push side by call id,
    ``pushes`` every push sent, and ``sipgateio`` the settings of
    ``/settings/sipgateio``. ``clock`` returns the time in epoch seconds that
    ``sendAt`` of an SMS is checked against.
    """

    scenario: Scenario = field(default_factory=Scenario)
    requests: list[RecordedRequest] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    sms: list[dict[str, Any]] = field(default_factory=list)
    sipgateio: dict[str, Any] = field(
        default_factory=lambda: {**SIPGATEIO_DEFAULTS, "whitelist": []}
    )
    push_calls: dict[str, SimulatedCall] = field(default_factory=dict)
    pushes: list[SentPush] = field(default_factory=list)
    clock: Callable[[], float] = field(default=time.time, repr=False)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition, repr=False)
    _key: rsa.RSAPrivateKey | None = field(default=None, repr=False)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, repr=False)

    def create_app(self) -> web.Application:
        """Return the aiohttp application that serves the sandbox."""
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/v2/authorization/userinfo", self._userinfo)
        app.router.add_get("/v2/{user_id}/devices", self._devices)
        app.router.add_post("/v2/sessions/calls", self._new_call)
        app.router.add_get("/v2/contacts", self._contacts)
        app.router.add_get("/v2/calls", self._active_calls)
        app.router.add_delete("/v2/calls/{call_id}", self._hang_up)
        app.router.add_get("/v2/settings/sipgateio", self._get_sipgateio)
        app.router.add_put("/v2/settings/sipgateio", self._put_sipgateio)
        app.router.add_get("/v2/{user_id}/sms", self._sms_extensions)
        app.router.add_post("/v2/sessions/sms", self._send_sms)
        app.router.add_get("/v2/balance", self._balance)
        app.router.add_get("/_sandbox/requests", self._control_requests)
        app.router.add_delete("/_sandbox/requests", self._control_clear)
        app.router.add_get("/_sandbox/scenario", self._control_scenario)
        app.router.add_post("/_sandbox/scenario", self._control_scenario)
        app.router.add_post("/_sandbox/reset", self._control_reset)
        app.router.add_get("/_sandbox/push/key", self._control_push_key)
        app.router.add_post("/_sandbox/push/call", self._control_push_call)
        app.router.add_get("/_sandbox/push/calls", self._control_push_calls)
        app.on_cleanup.append(self._cancel_tasks)
        return app

    def reset(self) -> None:
        """Return to the default scenario and settings; forget all records.

        Simulated calls stop where they are; the signing key stays.
        """
        self.scenario = Scenario()
        self.requests.clear()
        self.calls.clear()
        self.sms.clear()
        self.sipgateio = {**SIPGATEIO_DEFAULTS, "whitelist": []}
        for call in self.push_calls.values():
            call.end()
        for task in self._tasks:
            task.cancel()
        self.push_calls.clear()
        self.pushes.clear()

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        """Return the recorded requests with this method and path."""
        return [r for r in self.requests if r.method == method and r.path == path]

    async def wait_for_requests(self, method: str, path: str, count: int) -> None:
        """Wait until ``count`` requests with this method and path arrived."""
        async with self._arrived:
            await self._arrived.wait_for(
                lambda: len(self.requests_to(method, path)) >= count
            )

    @property
    def push_public_key_pem(self) -> str:
        """Return the public key of the push signatures as PEM."""
        return (
            self._signing_key()
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM,
                serialization.PublicFormat.SubjectPublicKeyInfo,
            )
            .decode()
        )

    def sign(self, body: bytes) -> str:
        """Return the base64 signature of a push body, as sipgate.io makes it."""
        signature = self._signing_key().sign(body, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()

    def _signing_key(self) -> rsa.RSAPrivateKey:
        """Return the sandbox's push signing key, made on first use."""
        if self._key is None:
            self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self._key

    async def simulate_call(
        self,
        url: str,
        *,
        direction: str = "in",
        from_: str = DEFAULT_FROM,
        to: str = DEFAULT_TO,
        users: Sequence[str] = DEFAULT_USERS,
        answer: bool = True,
        answering_number: str | None = None,
        answer_after: float = 0.0,
        hangup: str = "send",
        hangup_after: float = 0.0,
        cause: str | None = None,
    ) -> SimulatedCall:
        """Simulate a call on the push side, starting with ``newCall`` to ``url``.

        Returns when the script has run as far as it goes without a
        ``DELETE /calls/{callId}``: with ``hangup="on_delete"`` once the call
        is established (or, without an answer, still ringing). ``cause``
        defaults to ``normalClearing`` for an answered call and ``noAnswer``
        otherwise. A wrong direction, script, cause or wait raises ValueError.
        """
        call = self._add_call(
            SimulatedCall(
                url=url,
                direction=direction,
                from_=from_,
                to=to,
                users=tuple(users),
                answer=answer,
                answering_number=answering_number,
                answer_after=answer_after,
                hangup=hangup,
                hangup_after=hangup_after,
                cause=cause,
            )
        )
        await self._run_script(call)
        return call

    async def send_push(
        self,
        url: str,
        fields: Sequence[tuple[str, str]] | bytes,
        *,
        signature: str | _Signed | None = _Signed.SIGNED,
    ) -> tuple[int | None, str, str]:
        """Post any push form (or raw body) to ``url`` as sipgate.io does.

        It is signed unless a ``signature`` is given (None: no signature
        header). Returns the answer's status (None without an answer), text
        and content type; the push is recorded in ``pushes``.
        """
        body = fields if isinstance(fields, bytes) else urlencode(fields).encode()
        if isinstance(signature, _Signed):
            signature = self.sign(body)
        sent = dict(parse_qsl(body.decode(errors="replace"), keep_blank_values=True))
        push = await self._post(
            url, body, signature, sent.get("event", ""), sent.get("callId", "")
        )
        return push.status, push.text, push.content_type

    async def wait_for_pushes(self) -> None:
        """Wait until the pushes started in the background are sent.

        Those are the hangups after ``DELETE /calls/{callId}`` and the calls
        started through ``POST /_sandbox/push/call``.
        """
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    def _add_call(self, call: SimulatedCall) -> SimulatedCall:
        """Check a simulated call's script and keep the call."""
        for name, value in (
            ("direction", call.direction),
            ("hangup", call.hangup),
            ("cause", call.cause),
            ("answer_after", call.answer_after),
            ("hangup_after", call.hangup_after),
        ):
            if (problem := _push_call_problem(name, value)) is not None:
                raise ValueError(problem)
        self.push_calls[call.call_id] = call
        return call

    async def _run_script(self, call: SimulatedCall) -> None:
        """Send the pushes of a simulated call as far as its script goes."""
        new_call = await self._push(call, call.url, call.new_call_fields())
        call.on_answer, call.on_hangup = _follow_ups(new_call)
        if call.answer:
            if not await _pause(call, call.answer_after):
                return
            call.state = "established"
            call.answered = True
            if call.on_answer is not None:
                await self._push(call, call.on_answer, call.answer_fields())
        if call.hangup == "on_delete" or not await _pause(call, call.hangup_after):
            return
        call.end()
        if call.hangup == "send":
            default = "normalClearing" if call.answered else "noAnswer"
            await self._send_hangup(call, call.cause or default)

    async def _send_hangup(self, call: SimulatedCall, cause: str) -> None:
        """Send ``hangup`` if the answer to ``newCall`` asked for it."""
        if call.on_hangup is not None:
            await self._push(call, call.on_hangup, call.hangup_fields(cause))

    async def _push(
        self, call: SimulatedCall, url: str, fields: list[tuple[str, str]]
    ) -> SentPush:
        """Sign and send one push of a simulated call."""
        body = urlencode(fields).encode()
        push = await self._post(url, body, self.sign(body), fields[0][1], call.call_id)
        call.pushes.append(push)
        return push

    async def _post(
        self, url: str, body: bytes, signature: str | None, event: str, call_id: str
    ) -> SentPush:
        """Post a push body, record it with its answer and return it."""
        headers = dict(PUSH_HEADERS)
        if signature is not None:
            headers[SIGNATURE_HEADER] = signature
        timeout = aiohttp.ClientTimeout(total=PUSH_TIMEOUT)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(url, data=body, headers=headers) as response,
            ):
                status: int | None = response.status
                text = await response.text(errors="replace")
                content_type = response.headers.get("Content-Type", "")
        except (aiohttp.ClientError, TimeoutError) as err:
            status, text, content_type = None, f"{type(err).__name__}: {err}", ""
        push = SentPush(
            event, call_id, url, body, signature, status, text, content_type
        )
        self.pushes.append(push)
        # Only the host: a webhook's path is a secret of the integration.
        host = urlsplit(url).netloc
        _LOGGER.info("push %s to %s: %s", event or "-", host, status or text)
        return push

    def _start(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run a coroutine in the background, keeping a reference to it."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _cancel_tasks(self, app: web.Application) -> None:
        """Stop the background pushes when the server stops."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @web.middleware
    async def _middleware(
        self,
        request: web.Request,
        handler: Any,
    ) -> web.StreamResponse:
        """Record API requests and apply the scenario before answering."""
        if request.path.startswith("/_sandbox/"):
            return await handler(request)  # type: ignore[no-any-return]
        body = await request.text()
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        self.requests.append(
            RecordedRequest(
                request.method,
                request.path,
                {
                    name: value
                    for name, value in request.headers.items()
                    if name.lower()
                    in {"authorization", "content-type", "accept", "user-agent"}
                },
                body,
                parsed,
            )
        )
        async with self._arrived:
            self._arrived.notify_all()
        scenario = self.scenario
        if scenario.delay:
            await asyncio.sleep(scenario.delay)
        if scenario.drop_connection:
            if request.transport is not None:
                request.transport.close()
            raise ConnectionResetError("sandbox dropped the connection")
        if scenario.server_error is not None:
            return _error(scenario.server_error, "INTERNAL_ERROR", "Sandbox failure")
        if scenario.rate_limit is not None:
            response = _error(429, "RATE_LIMIT_EXCEEDED", "Too many requests")
            response.headers["Retry-After"] = str(scenario.rate_limit)
            return response
        try:
            return await handler(request)  # type: ignore[no-any-return]
        except _RefusalError as refusal:
            return refusal.response

    def _authenticate(self, request: web.Request) -> SandboxToken:
        """Return the token of the request or raise 401 (431 if oversized)."""
        header = request.headers.get("Authorization", "")
        if len(header) > MAX_AUTHORIZATION:
            raise _http_error(
                431, "REQUEST_HEADER_FIELDS_TOO_LARGE", "Authorization too large"
            )
        scheme, _, encoded = header.partition(" ")
        try:
            token_id, _, token = (
                base64.b64decode(encoded, validate=True).decode().partition(":")
            )
        except binascii.Error, UnicodeDecodeError:
            token_id = token = ""
        for known in TOKENS:
            if (
                scheme == "Basic"
                and self.scenario.token_valid
                and secrets.compare_digest(known.token_id, token_id)
                and secrets.compare_digest(known.token, token)
            ):
                return known
        raise _http_error(401, "REQUEST_NOT_AUTHENTICATED", "Invalid token supplied")

    async def _userinfo(self, request: web.Request) -> web.Response:
        """Answer ``GET /authorization/userinfo``."""
        token = self._authenticate(request)
        return web.json_response(
            {
                "sub": token.user,
                "domain": "sipgate.de",
                "masterSipId": MASTER_SIP_ID,
                "locale": "de_DE",
            }
        )

    async def _devices(self, request: web.Request) -> web.Response:
        """Answer ``GET /{userId}/devices``."""
        return self._user_items(request, DEVICE_SCOPES, "devices:read", DEVICES)

    def _user_items(
        self,
        request: web.Request,
        scopes: frozenset[str],
        scope: str,
        items: dict[str, list[dict[str, Any]]],
    ) -> web.Response:
        """Answer a list of the token's own user; 403 for another user."""
        token = self._authenticate(request)
        user_id = request.match_info["user_id"]
        if not token.scopes & scopes or user_id != token.user:
            raise _http_error(403, "FORBIDDEN", f"Missing scope {scope}")
        return web.json_response({"items": items[user_id]})

    async def _new_call(self, request: web.Request) -> web.Response:
        """Answer ``POST /sessions/calls`` (click-to-dial)."""
        if request.content_type != "application/json":
            raise _http_error(415, "UNSUPPORTED_MEDIA_TYPE", "Use application/json")
        token = self._authenticate(request)
        if not token.scopes & CALL_SCOPES:
            raise _http_error(403, "FORBIDDEN", "Missing scope sessions:calls:write")
        try:
            body = await request.json()
        except ValueError:
            raise _http_error(400, "INVALID_JSON", "Body is not JSON") from None
        _check_call(body, token.user)
        if self.scenario.balance <= 0:
            raise _http_error(402, "INSUFFICIENT_FUNDS", "Insufficient funds")
        session_id = secrets.token_hex(20).upper()
        self.calls.append({"sessionId": session_id, **body})
        return web.json_response({"sessionId": session_id})

    def _authorize(
        self, request: web.Request, scopes: frozenset[str], scope: str
    ) -> SandboxToken:
        """Return the token of the request; 401, or 403 without ``scopes``."""
        token = self._authenticate(request)
        if not token.scopes & scopes:
            raise _http_error(403, "FORBIDDEN", f"Missing scope {scope}")
        return token

    async def _contacts(self, request: web.Request) -> web.Response:
        """Answer ``GET /contacts``, filtered by ``phonenumbers[]``."""
        self._authorize(request, CONTACT_SCOPES, "contacts:read")
        limit = _query_int(request, "limit", 5000)
        offset = _query_int(request, "offset", 0)
        wanted = set(request.query.getall("phonenumbers[]", []))
        found = [
            contact
            for contact in CONTACTS
            if not wanted or any(n["number"] in wanted for n in contact["numbers"])
        ]
        return web.json_response(
            {"items": found[offset : offset + limit], "totalCount": len(found)}
        )

    async def _active_calls(self, request: web.Request) -> web.Response:
        """Answer ``GET /calls``: the established simulated calls."""
        self._authorize(request, RTCM_READ_SCOPES, "rtcm:read")
        return web.json_response(
            {
                "data": [
                    call.rtcm()
                    for call in self.push_calls.values()
                    if call.state == "established"
                ]
            }
        )

    async def _hang_up(self, request: web.Request) -> web.StreamResponse:
        """Answer ``DELETE /calls/{callId}``, then send the ``hangup`` push."""
        self._authorize(request, RTCM_WRITE_SCOPES, "rtcm:write")
        call = self.push_calls.get(request.match_info["call_id"])
        if call is None or call.state == "ended":
            raise _http_error(404, "RESOURCE_NOT_FOUND", "Call not found")
        call.end()
        response = web.Response(status=204)
        await response.prepare(request)
        await response.write_eof()
        self._start(self._send_hangup(call, "normalClearing"))
        return response

    async def _get_sipgateio(self, request: web.Request) -> web.Response:
        """Answer ``GET /settings/sipgateio``."""
        self._authorize(request, SIPGATEIO_READ_SCOPES, "settings:sipgateio:read")
        return web.json_response(self.sipgateio)

    async def _put_sipgateio(self, request: web.Request) -> web.Response:
        """Answer ``PUT /settings/sipgateio``: store all four settings."""
        self._authorize(request, SIPGATEIO_WRITE_SCOPES, "settings:sipgateio:write")
        try:
            body = await request.json()
        except ValueError:
            raise _http_error(400, "INVALID_JSON", "Body is not JSON") from None
        if not isinstance(body, dict):
            raise _http_error(400, "INVALID_JSON", "Body is not an object")
        for name, default in SIPGATEIO_DEFAULTS.items():
            value = body.get(name)
            if type(value) is not type(default) or (
                isinstance(value, list) and not all(isinstance(v, str) for v in value)
            ):
                raise _http_error(400, "PARAMETER_INVALID", f"{name} is invalid")
        self.sipgateio = {name: body[name] for name in SIPGATEIO_DEFAULTS}
        return web.Response(status=204)

    async def _sms_extensions(self, request: web.Request) -> web.Response:
        """Answer ``GET /{userId}/sms``: the user's SMS extensions."""
        return self._user_items(request, SMS_READ_SCOPES, "sms:read", SMS_EXTENSIONS)

    async def _send_sms(self, request: web.Request) -> web.Response:
        """Answer ``POST /sessions/sms``: 204 without body, the SMS recorded."""
        if request.content_type != "application/json":
            raise _http_error(415, "UNSUPPORTED_MEDIA_TYPE", "Use application/json")
        token = self._authorize(request, SMS_SEND_SCOPES, "sessions:sms:write")
        try:
            body = await request.json()
        except ValueError:
            raise _http_error(400, "INVALID_JSON", "Body is not JSON") from None
        _check_sms(body, token.user, self.clock())
        if self.scenario.balance <= 0:
            raise _http_error(402, "INSUFFICIENT_FUNDS", "Insufficient funds")
        self.sms.append(body)
        return web.Response(status=204)

    async def _balance(self, request: web.Request) -> web.Response:
        """Answer ``GET /balance`` with the scenario's balance."""
        self._authorize(request, BALANCE_SCOPES, "balance:read")
        return web.json_response({"amount": self.scenario.balance, "currency": "EUR"})

    async def _control_requests(self, request: web.Request) -> web.Response:
        """Return the recorded API requests."""
        return web.json_response([asdict(r) for r in self.requests])

    async def _control_clear(self, request: web.Request) -> web.Response:
        """Forget the recorded API requests."""
        self.requests.clear()
        return web.json_response([])

    async def _control_scenario(self, request: web.Request) -> web.Response:
        """Return the scenario, after applying changes from a POST body.

        A body that is not a JSON object of known fields with values of their
        types is refused with 400 and changes nothing.
        """
        if request.method == "POST":
            try:
                changes = json.loads(await request.text())
            except ValueError:
                raise web.HTTPBadRequest(text="The body is not JSON") from None
            if not isinstance(changes, dict):
                raise web.HTTPBadRequest(text="The body is not a JSON object")
            for name, value in changes.items():
                if (problem := _scenario_problem(name, value)) is not None:
                    raise web.HTTPBadRequest(text=problem)
            self.scenario = Scenario(**{**asdict(self.scenario), **changes})
        return web.json_response(asdict(self.scenario))

    async def _control_reset(self, request: web.Request) -> web.Response:
        """Return to the default scenario and forget all requests and calls."""
        self.reset()
        return web.json_response(asdict(self.scenario))

    async def _control_push_key(self, request: web.Request) -> web.Response:
        """Return the public key of the push signatures as PEM."""
        return web.Response(text=self.push_public_key_pem, content_type="text/plain")

    async def _control_push_call(self, request: web.Request) -> web.Response:
        """Start a simulated call in the background and return its call id.

        Without ``url`` it pushes, like sipgate.io, to the URL the sipgate.io
        settings hold for the call's direction. A body that is not a JSON
        object of known fields with values of their types, or without a URL
        to push to, is refused with 400.
        """
        try:
            options = json.loads(await request.text())
        except ValueError:
            raise web.HTTPBadRequest(text="The body is not JSON") from None
        if not isinstance(options, dict):
            raise web.HTTPBadRequest(text="The body is not a JSON object")
        for name, value in options.items():
            if (problem := _push_call_problem(name, value)) is not None:
                raise web.HTTPBadRequest(text=problem)
        if "url" not in options:
            setting = _SIPGATEIO_URLS[options.get("direction", "in")]
            if not self.sipgateio[setting]:
                raise web.HTTPBadRequest(
                    text=f"url is required: the sipgate.io setting {setting} is empty"
                )
            options["url"] = self.sipgateio[setting]
        options["from_"] = options.pop("from", DEFAULT_FROM)
        options["users"] = tuple(options.get("users", DEFAULT_USERS))
        call = self._add_call(SimulatedCall(**options))
        self._start(self._run_script(call))
        return web.json_response({"callId": call.call_id})

    async def _control_push_calls(self, request: web.Request) -> web.Response:
        """Return the simulated calls with their state and pushes."""
        return web.json_response([c.summary() for c in self.push_calls.values()])


# The JSON types each scenario field takes (bool is not a number here).
_SCENARIO_TYPES: dict[str, tuple[type, ...]] = {
    "balance": (int,),
    "token_valid": (bool,),
    "delay": (int, float),
    "server_error": (int, type(None)),
    "drop_connection": (bool,),
    "rate_limit": (int, type(None)),
}


def _scenario_problem(name: str, value: Any) -> str | None:
    """Return why a scenario change is refused, or None to accept it."""
    if name not in _SCENARIO_TYPES:
        return f"Unknown scenario field {name!r}"
    if type(value) not in _SCENARIO_TYPES[name]:
        return f"{name} takes {' or '.join(t.__name__ for t in _SCENARIO_TYPES[name])}"
    if name == "delay" and not 0 <= value <= 3600:  # noqa: PLR2004
        return "delay takes seconds from 0 to 3600"
    if name == "server_error" and value is not None and not 500 <= value <= 599:  # noqa: PLR2004
        return "server_error takes a status from 500 to 599"
    if name == "rate_limit" and value is not None and value < 0:
        return "rate_limit takes seconds from 0"
    return None


# The JSON types each field of ``POST /_sandbox/push/call`` takes.
_PUSH_CALL_TYPES: dict[str, tuple[type, ...]] = {
    "url": (str,),
    "direction": (str,),
    "from": (str,),
    "to": (str,),
    "users": (list,),
    "answer": (bool,),
    "answering_number": (str, type(None)),
    "answer_after": (int, float),
    "hangup": (str,),
    "hangup_after": (int, float),
    "cause": (str, type(None)),
}
# The values some of them are limited to.
_PUSH_CALL_CHOICES: dict[str, tuple[str | None, ...]] = {
    "direction": ("in", "out"),
    "hangup": HANGUP_SCRIPTS,
    "cause": (*HANGUP_CAUSES, None),
}


def _push_call_problem(name: str, value: Any) -> str | None:
    """Return why a field of a simulated call is refused, or None."""
    if name not in _PUSH_CALL_TYPES:
        return f"Unknown push call field {name!r}"
    types = _PUSH_CALL_TYPES[name]
    if type(value) not in types:
        return f"{name} takes {' or '.join(t.__name__ for t in types)}"
    return _push_value_problem(name, value)


def _push_value_problem(name: str, value: Any) -> str | None:
    """Return why a well-typed field of a simulated call is refused, or None."""
    choices = _PUSH_CALL_CHOICES.get(name)
    if choices is not None and value not in choices:
        named = ", ".join(choice for choice in choices if choice is not None)
        return f"{name} takes one of {named}"
    if name == "users" and not all(isinstance(user, str) for user in value):
        return "users takes a list of str"
    if name.endswith("_after") and not 0 <= value <= 3600:  # noqa: PLR2004
        return f"{name} takes seconds from 0 to 3600"
    if name == "url" and not value.startswith(("http://", "https://")):
        return "url takes an http or https URL"
    return None


def _follow_ups(new_call: SentPush) -> tuple[str | None, str | None]:
    """Return the ``onAnswer`` and ``onHangup`` URLs a newCall answer asks for.

    Only a 200 answer whose body is XML with the root ``Response`` counts;
    an attribute that is missing or empty asks for nothing.
    """
    if new_call.status != HTTPStatus.OK:
        return None, None
    try:
        # The XML is the answer of the integration under test.
        root = ET.fromstring(new_call.text.encode())  # noqa: S314
    except ET.ParseError:
        return None, None
    if root.tag != "Response":
        return None, None
    return root.get("onAnswer") or None, root.get("onHangup") or None


async def _pause(call: SimulatedCall, seconds: float) -> bool:
    """Wait ``seconds`` unless the call ends; return whether it still runs."""
    if seconds > 0:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await call.ended.wait()
    return call.state != "ended"


def _query_int(request: web.Request, name: str, default: int) -> int:
    """Return a query parameter that is a whole number from 0; 400 otherwise."""
    value = request.query.get(name)
    if value is None:
        return default
    if not value.isascii() or not value.isdigit():
        raise _http_error(400, "PARAMETER_INVALID", f"{name} is not a number")
    return int(value)


def _check_call(body: Any, user: str) -> None:
    """Refuse a click-to-dial body the way sipgate does (400 or 403)."""
    if not isinstance(body, dict):
        raise _http_error(400, "INVALID_JSON", "Body is not an object")
    for name in ("caller", "callee", "deviceId", "callerId"):
        value = body.get(name, "" if name in {"caller", "callee"} else None)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise _http_error(400, "PARAMETER_INVALID", f"{name} is empty")
    if not _NUMBER.fullmatch(body["callee"]):
        raise _http_error(
            400, "PARAMETER_INVALID", "User supplied invalid callee number"
        )
    if "callerId" in body and not _NUMBER.fullmatch(body["callerId"]):
        raise _http_error(400, "PARAMETER_INVALID", "Invalid callerId")
    _check_parties(body, user)


def _check_sms(body: Any, user: str, now: float) -> None:
    """Refuse an SMS body the way sipgate does (400, or 403 for ``smsId``).

    ``sendAt``, when there, is whole epoch seconds after ``now`` and at most
    ``MAX_SEND_AHEAD`` later.
    """
    if not isinstance(body, dict):
        raise _http_error(400, "INVALID_JSON", "Body is not an object")
    for name in ("smsId", "recipient", "message"):
        value = body.get(name)
        if not isinstance(value, str) or not value.strip():
            raise _http_error(400, "PARAMETER_INVALID", f"{name} is empty")
    if not _NUMBER.fullmatch(body["recipient"]):
        raise _http_error(
            400, "PARAMETER_INVALID", "User supplied invalid recipient number"
        )
    send_at = body.get("sendAt")
    if send_at is not None:
        if type(send_at) is not int:
            raise _http_error(400, "PARAMETER_INVALID", "sendAt is not whole seconds")
        if send_at <= now:
            raise _http_error(400, "PARAMETER_INVALID", "sendAt is in the past")
        if send_at > now + MAX_SEND_AHEAD:
            raise _http_error(
                400, "PARAMETER_INVALID", "sendAt is more than 30 days ahead"
            )
    if body["smsId"] not in {sms["id"] for sms in SMS_EXTENSIONS[user]}:
        raise _http_error(403, "FORBIDDEN", "SMS extension not allowed")


def _check_parties(body: dict[str, Any], user: str) -> None:
    """Refuse a caller or device the user may not use, as sipgate does."""
    usable = {device["id"] for device in DEVICES[user]}
    caller = body["caller"]
    device_id = body.get("deviceId")
    if _EXTENSION.fullmatch(caller):
        if caller not in usable | PHONELINES[user]:
            raise _http_error(403, "FORBIDDEN", "Caller extension not allowed")
    elif not _NUMBER.fullmatch(caller):
        raise _http_error(
            400, "PARAMETER_INVALID", "User supplied invalid caller number"
        )
    elif device_id is None:
        raise _http_error(
            400,
            "PARAMETER_INVALID",
            "DeviceId is required if caller is a phone number",
        )
    if device_id is not None and device_id not in usable:
        raise _http_error(403, "FORBIDDEN", "Device not allowed")


def _error(status: int, name: str, message: str) -> web.Response:
    """Return an error answer in sipgate's JSON error format."""
    return web.json_response({"name": name, "message": message}, status=status)


class _RefusalError(Exception):
    """Raised by a handler to answer with a sipgate error."""

    def __init__(self, response: web.Response) -> None:
        """Keep the answer."""
        super().__init__(response.status)
        self.response = response


def _http_error(status: int, name: str, message: str) -> _RefusalError:
    """Return an error to raise from a handler."""
    return _RefusalError(_error(status, name, message))


def main() -> None:
    """Serve the sandbox until interrupted, logging each request."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s sipgate sandbox: %(message)s"
    )
    ready = (
        f"sipgate sandbox on http://{args.host}:{args.port}/v2, "
        f"token id {TOKEN.token_id}, token {TOKEN.token}"
    )
    web.run_app(
        SipgateSandbox().create_app(),
        host=args.host,
        port=args.port,
        access_log_format="%r %s",
        print=lambda _: print(ready, flush=True),  # noqa: T201
    )


if __name__ == "__main__":
    main()
