"""Tests of the sipgate sandbox: control endpoints, REST extras, push side."""

import asyncio
import base64
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
import json
import logging
import time
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
import pytest

from sipgate_lab import sandbox as sandbox_module
from sipgate_lab.sandbox import (
    CONTACTS,
    DEFAULT_TO,
    HANGUP_CAUSES,
    MASTER_SIP_ID,
    MAX_SEND_AHEAD,
    TOKEN,
    TOKEN_NO_BALANCE,
    TOKEN_NO_CALLS,
    TOKEN_NO_DEVICES,
    TOKEN_NO_SMS,
    TOKEN_NO_SMS_SEND,
    TOKEN_OTHER_USER,
    TOKENS,
    SandboxToken,
    Scenario,
    SimulatedCall,
    SipgateSandbox,
)

SETTINGS = {
    "incomingUrl": "https://ha.example/api/webhook/in",
    "outgoingUrl": "https://ha.example/api/webhook/out",
    "log": True,
    "whitelist": ["w0", "g1"],
}
WRONG_TOKEN = SandboxToken("token-SANDB0", "wrong", "w0", frozenset())
SMS = {"smsId": "s0", "recipient": "+4915799912345", "message": "Hallo Klaus"}
# The sandbox's clock in the SMS tests (sendAt is checked against it).
NOW = 1_800_000_000
PUSH_HEADERS = {
    "content-type": "application/x-www-form-urlencoded; charset=UTF-8",
    "user-agent": "sipgate.io",
    "accept": "application/xml, text/plain, text/html",
}
# What the receiver answers to a newCall at /{name}; {base} is its own URL.
XML = "application/xml"
ANSWERS: dict[str, tuple[int, str, str]] = {
    "both": (
        200,
        XML,
        (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<Response onAnswer="{base}/answer" onHangup="{base}/hangup"/>'
        ),
    ),
    "bare": (
        200,
        XML,
        '<Response onAnswer="{base}/answer" onHangup="{base}/hangup"></Response>',
    ),
    "hangup-only": (200, XML, '<Response onHangup="{base}/hangup"/>'),
    "answer-only": (200, XML, '<Response onAnswer="{base}/answer"/>'),
    "empty-attributes": (200, XML, '<Response onAnswer="" onHangup=""/>'),
    "none": (200, XML, "<Response/>"),
    "other-root": (200, XML, '<Reply onAnswer="{base}/answer"/>'),
    "plain": (200, "text/plain", "OK"),
    "fail": (500, XML, '<Response onAnswer="{base}/a" onHangup="{base}/h"/>'),
}


@dataclass
class Received:
    """One push as the receiver got it."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def fields(self) -> list[tuple[str, str]]:
        """Return the form fields in their order."""
        return parse_qsl(self.body.decode(), keep_blank_values=True)


@dataclass
class Receiver:
    """A push receiver on loopback, as Home Assistant's webhook would be."""

    base: str = ""
    received: list[Received] = field(default_factory=list)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    def url(self, name: str) -> str:
        """Return the URL of one of the receiver's answers."""
        return f"{self.base}/{name}"

    @property
    def paths(self) -> list[str]:
        """Return the paths of the pushes received, in their order."""
        return [push.path for push in self.received]

    async def wait_for(self, count: int) -> None:
        """Wait until ``count`` pushes arrived (for background calls)."""
        async with asyncio.timeout(5), self.arrived:
            await self.arrived.wait_for(lambda: len(self.received) >= count)

    async def handle(self, request: web.Request) -> web.Response:
        """Record a push; answer a newCall as ANSWERS says, others with OK."""
        self.received.append(
            Received(
                request.path,
                {name.lower(): value for name, value in request.headers.items()},
                await request.read(),
            )
        )
        async with self.arrived:
            self.arrived.notify_all()
        status, content_type, text = ANSWERS.get(
            request.match_info["name"], (200, "text/plain", "")
        )
        return web.Response(
            status=status,
            text=text.replace("{base}", self.base),
            content_type=content_type,
        )


@pytest.fixture
async def receiver(socket_enabled: None) -> AsyncGenerator[Receiver]:
    """Serve a push receiver on loopback."""
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/{name}", receiver.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    receiver.base = str(server.make_url("")).rstrip("/")
    yield receiver
    await server.close()


@pytest.fixture
async def http(sandbox_url: str) -> AsyncGenerator[Any]:
    """Return a function that sends a request to the sandbox's server.

    Paths under /v2 carry the token's Authorization header (None: none).
    The function returns the status, the parsed JSON or text (None when
    empty) and the content type.
    """
    origin = sandbox_url.removesuffix("/v2")
    async with aiohttp.ClientSession() as session:

        async def send(
            method: str,
            path: str,
            *,
            token: SandboxToken | None = TOKEN,
            **kwargs: Any,
        ) -> tuple[int, Any, str]:
            headers = {}
            if token is not None and path.startswith("/v2/"):
                headers["Authorization"] = token.authorization
            async with session.request(
                method, origin + path, headers=headers, **kwargs
            ) as response:
                text = await response.text()
                if response.content_type == "application/json":
                    return response.status, json.loads(text), response.content_type
                return response.status, text or None, response.content_type

        yield send


@pytest.fixture
async def control(sandbox_url: str) -> AsyncGenerator[Any]:
    """Return a function that posts a body to /_sandbox/scenario."""
    url = sandbox_url.replace("/v2", "/_sandbox/scenario")
    async with aiohttp.ClientSession() as session:

        async def post(body: str) -> tuple[int, str]:
            async with session.post(
                url, data=body, headers={"Content-Type": "application/json"}
            ) as response:
                return response.status, await response.text()

        yield post


def verify(sandbox: SipgateSandbox, body: bytes, signature: str) -> None:
    """Raise InvalidSignature unless the signature signs the body."""
    key = serialization.load_pem_public_key(sandbox.push_public_key_pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(base64.b64decode(signature), body, padding.PKCS1v15(), hashes.SHA256())


# --- The scenario endpoint ---------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"token_valid": "false"}', "token_valid takes bool"),
        ('{"balance": true}', "balance takes int"),
        ('{"balance": 1.5}', "balance takes int"),
        ('{"delay": "12"}', "delay takes int or float"),
        ('{"delay": -1}', "delay takes seconds from 0 to 3600"),
        ('{"server_error": 404}', "server_error takes a status from 500 to 599"),
        ('{"rate_limit": -5}', "rate_limit takes seconds from 0"),
        ('{"drop_connection": 1}', "drop_connection takes bool"),
        ('{"ballance": 0}', "Unknown scenario field 'ballance'"),
        ("delay=12", "The body is not JSON"),
        ("[1, 2]", "The body is not a JSON object"),
    ],
)
async def test_scenario_refuses_wrong_input(
    control: Any, sandbox: SipgateSandbox, body: str, message: str
) -> None:
    """Wrong names, types or ranges get 400 with why; nothing changes."""
    assert await control(body) == (400, message)
    assert sandbox.scenario == Scenario()


async def test_scenario_changes(control: Any, sandbox: SipgateSandbox) -> None:
    """Well-typed changes apply and the new scenario is answered."""
    status, _ = await control(
        '{"balance": 0, "token_valid": false, "delay": 0.5, "server_error": 503}'
    )
    assert status == 200
    assert sandbox.scenario == Scenario(
        balance=0, token_valid=False, delay=0.5, server_error=503
    )
    status, _ = await control('{"server_error": null, "rate_limit": 30}')
    assert status == 200
    assert (sandbox.scenario.server_error, sandbox.scenario.rate_limit) == (None, 30)


# --- Tokens and scopes of the new endpoints ------------------------------------

# Each new endpoint, a body for it and the scope it needs.
ENDPOINTS = [
    ("GET", "/v2/contacts", None, "contacts:read"),
    ("GET", "/v2/calls", None, "rtcm:read"),
    ("DELETE", "/v2/calls/0123456789ABCDEF", None, "rtcm:write"),
    ("GET", "/v2/settings/sipgateio", None, "settings:sipgateio:read"),
    ("PUT", "/v2/settings/sipgateio", SETTINGS, "settings:sipgateio:write"),
    ("GET", "/v2/w0/sms", None, "sms:read"),
    ("POST", "/v2/sessions/sms", SMS, "sessions:sms:write"),
    ("GET", "/v2/balance", None, "balance:read"),
]


def test_token_scopes() -> None:
    """The full token has the new scopes; the others keep theirs."""
    assert TOKEN.scopes == {
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
    assert TOKEN_NO_DEVICES.scopes == {"sessions:calls:write"}
    assert TOKEN_NO_CALLS.scopes == {"devices:read"}
    assert TOKEN_OTHER_USER.scopes == {"sessions:calls:write", "devices:read"}


def test_tokens_without_the_sms_and_balance_scopes() -> None:
    """Three tokens of w0 are full but for the balance, SMS or sending SMS."""
    assert TOKEN.scopes - TOKEN_NO_BALANCE.scopes == {"balance:read"}
    assert TOKEN.scopes - TOKEN_NO_SMS.scopes == {"sms:read", "sessions:sms:write"}
    assert TOKEN.scopes - TOKEN_NO_SMS_SEND.scopes == {"sessions:sms:write"}
    restricted = (TOKEN_NO_BALANCE, TOKEN_NO_SMS, TOKEN_NO_SMS_SEND)
    assert all(token.scopes < TOKEN.scopes for token in restricted)
    assert all(token.user == "w0" for token in restricted)
    assert [token.token_id for token in restricted] == [
        "token-NOBAL0",
        "token-NOSMS0",
        "token-NOSND0",
    ]
    assert all(token in TOKENS for token in restricted)
    assert len({token.token_id for token in TOKENS}) == len(TOKENS) == 7
    assert len({token.token for token in TOKENS}) == 7


@pytest.mark.parametrize(("method", "path", "body", "scope"), ENDPOINTS)
async def test_new_endpoints_refuse_without_scope_or_token(
    http: Any,
    sandbox: SipgateSandbox,
    method: str,
    path: str,
    body: Any,
    scope: str,
) -> None:
    """403 without the scope, 401 for a wrong token; both are recorded."""
    sandbox.clock = lambda: NOW
    assert await http(method, path, token=TOKEN_NO_DEVICES, json=body) == (
        403,
        {"name": "FORBIDDEN", "message": f"Missing scope {scope}"},
        "application/json",
    )
    status, answer, _ = await http(method, path, token=WRONG_TOKEN, json=body)
    assert (status, answer["name"]) == (401, "REQUEST_NOT_AUTHENTICATED")
    status, _, _ = await http(method, path, token=None, json=body)
    assert status == 401
    assert len(sandbox.requests_to(method, path)) == 3
    assert sandbox.sipgateio["incomingUrl"] == ""
    assert sandbox.sms == []


async def test_scope_all_opens_every_new_endpoint(
    http: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token with only the scope ``all`` may use each new endpoint."""
    everything = SandboxToken(
        "token-ALL000", "22222222-3333-4444-8555-666666666666", "w0", frozenset({"all"})
    )
    monkeypatch.setattr(sandbox_module, "TOKENS", (everything,))
    statuses = [
        (await http(method, path, token=everything, json=body))[0]
        for method, path, body, _ in ENDPOINTS
    ]
    # The DELETE reaches the lookup of the (unknown) call.
    assert statuses == [200, 200, 404, 200, 204, 200, 204, 200]


# --- GET /contacts ---------------------------------------------------------------


async def test_contacts_lists_all(http: Any) -> None:
    """Without a filter all contacts are listed with their total count."""
    status, answer, _ = await http("GET", "/v2/contacts")
    assert status == 200
    assert answer == {"items": CONTACTS, "totalCount": len(CONTACTS)}
    by_name = {contact["name"]: contact for contact in answer["items"]}
    assert by_name["Oma Erna"]["numbers"] == [
        {"number": "+4921112345678", "type": ["home"]}
    ]
    assert [n["number"] for n in by_name["Nachbar Klaus"]["numbers"]] == [
        "+492111234999",
        "+4915799912345",
    ]
    assert {contact["scope"] for contact in CONTACTS} == {"PRIVATE", "SHARED"}


@pytest.mark.parametrize(
    ("numbers", "names"),
    [
        (["+4915799912345"], ["Nachbar Klaus"]),
        (["+492111234999"], ["Nachbar Klaus"]),
        (["+4921112345678", "+4915799912345"], ["Oma Erna", "Nachbar Klaus"]),
        (["4921112345678"], []),
        (["+492111234567"], []),
        (["+49211123456789"], []),
    ],
)
async def test_contacts_filter_by_exact_number(
    http: Any, numbers: list[str], names: list[str]
) -> None:
    """A contact matches when one of its numbers is one given, exactly."""
    status, answer, _ = await http(
        "GET", "/v2/contacts", params=[("phonenumbers[]", n) for n in numbers]
    )
    assert status == 200
    assert [contact["name"] for contact in answer["items"]] == names
    assert answer["totalCount"] == len(names)


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("limit=1", ["Oma Erna"]),
        ("limit=1&offset=1", ["Nachbar Klaus"]),
        ("offset=2", ["Praxis Dr. Weber"]),
        ("offset=9", []),
        ("limit=0", []),
    ],
)
async def test_contacts_pages(http: Any, query: str, names: list[str]) -> None:
    """``limit`` and ``offset`` page; the total count stays that of all."""
    status, answer, _ = await http("GET", f"/v2/contacts?{query}")
    assert status == 200
    assert [contact["name"] for contact in answer["items"]] == names
    assert answer["totalCount"] == len(CONTACTS)


@pytest.mark.parametrize(
    "query", ["limit=x", "limit=1.5", "limit=", "offset=-1", "offset=%EF%BC%91"]
)
async def test_contacts_refuse_bad_paging(http: Any, query: str) -> None:
    """A limit or offset that is not a whole number from 0 gets 400."""
    status, answer, _ = await http("GET", f"/v2/contacts?{query}")
    name = query.partition("=")[0]
    assert (status, answer) == (
        400,
        {"name": "PARAMETER_INVALID", "message": f"{name} is not a number"},
    )


# --- /settings/sipgateio ---------------------------------------------------------


async def test_sipgateio_settings_are_stored(
    http: Any, sandbox: SipgateSandbox
) -> None:
    """GET answers the defaults, PUT replaces them with 204, reset restores."""
    default = {"incomingUrl": "", "outgoingUrl": "", "log": False, "whitelist": []}
    assert await http("GET", "/v2/settings/sipgateio") == (
        200,
        default,
        "application/json",
    )
    assert await http("PUT", "/v2/settings/sipgateio", json=SETTINGS) == (
        204,
        None,
        "application/octet-stream",
    )
    assert (await http("GET", "/v2/settings/sipgateio"))[1] == SETTINGS
    assert sandbox.requests_to("PUT", "/v2/settings/sipgateio")[0].json == SETTINGS
    assert (await http("POST", "/_sandbox/reset"))[0] == 200
    assert (await http("GET", "/v2/settings/sipgateio"))[1] == default


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({**SETTINGS, "log": "true"}, ("PARAMETER_INVALID", "log is invalid")),
        (
            {**SETTINGS, "whitelist": "w0"},
            ("PARAMETER_INVALID", "whitelist is invalid"),
        ),
        ({**SETTINGS, "whitelist": [0]}, ("PARAMETER_INVALID", "whitelist is invalid")),
        (
            {**SETTINGS, "incomingUrl": None},
            ("PARAMETER_INVALID", "incomingUrl is invalid"),
        ),
        (
            {"incomingUrl": "https://x", "outgoingUrl": "", "log": False},
            ("PARAMETER_INVALID", "whitelist is invalid"),
        ),
        ([SETTINGS], ("INVALID_JSON", "Body is not an object")),
        ("incomingUrl=https://x", ("INVALID_JSON", "Body is not JSON")),
    ],
)
async def test_sipgateio_settings_refuse_wrong_input(
    http: Any, sandbox: SipgateSandbox, body: Any, error: tuple[str, str]
) -> None:
    """Missing fields, wrong types and non-objects get 400; nothing changes."""
    kwargs = {"data": body} if isinstance(body, str) else {"json": body}
    status, answer, _ = await http("PUT", "/v2/settings/sipgateio", **kwargs)
    assert (status, answer["name"], answer["message"]) == (400, *error)
    assert sandbox.sipgateio["incomingUrl"] == ""


# --- The push side: what is sent -------------------------------------------------


async def test_pushes_are_signed_form_posts(
    http: Any, sandbox: SipgateSandbox, receiver: Receiver
) -> None:
    """Each push has sipgate.io's headers and a signature of the raw body.

    The key is published as a property and a control endpoint; a changed
    body does not verify.
    """
    call = await sandbox.simulate_call(receiver.url("both"))
    assert receiver.paths == ["/both", "/answer", "/hangup"]
    for got, sent in zip(receiver.received, call.pushes, strict=True):
        assert {name: got.headers[name] for name in PUSH_HEADERS} == PUSH_HEADERS
        assert got.body == sent.body
        assert got.headers["x-sipgate-signature"] == sent.signature
        verify(sandbox, got.body, got.headers["x-sipgate-signature"])
        tampered = got.body.replace(b"event=", b"event=x")
        with pytest.raises(InvalidSignature):
            verify(sandbox, tampered, got.headers["x-sipgate-signature"])
    assert sandbox.pushes == call.pushes
    assert await http("GET", "/_sandbox/push/key") == (
        200,
        sandbox.push_public_key_pem,
        "text/plain",
    )
    assert sandbox.push_public_key_pem.startswith("-----BEGIN PUBLIC KEY-----")


async def test_pushes_are_logged_without_path(
    sandbox: SipgateSandbox, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    """The log names event, host and status, not the webhook's secret path."""
    caplog.set_level(logging.INFO, logger="sipgate_lab.sandbox")
    await sandbox.simulate_call(receiver.url("none"))
    host = receiver.base.removeprefix("http://")
    logged = [
        record.getMessage()
        for record in caplog.records
        if record.name == "sipgate_lab.sandbox"
    ]
    assert logged == [f"push newCall to {host}: 200"]


async def test_sign_is_pkcs1v15_sha256(sandbox: SipgateSandbox) -> None:
    """``sign`` makes a base64 signature that verifies for exactly that body."""
    signature = sandbox.sign(b"event=newCall")
    verify(sandbox, b"event=newCall", signature)
    with pytest.raises(InvalidSignature):
        verify(sandbox, b"event=newcall", signature)
    assert SipgateSandbox().push_public_key_pem != sandbox.push_public_key_pem


async def test_new_call_fields(sandbox: SipgateSandbox, receiver: Receiver) -> None:
    """The newCall push has exactly sipgate's fields, digits without +."""
    call = await sandbox.simulate_call(receiver.url("none"))
    fields = receiver.received[0].fields
    xcid = dict(fields)["xcid"]
    assert fields == [
        ("event", "newCall"),
        ("direction", "in"),
        ("from", "492111234567"),
        ("to", "4921199990"),
        ("callId", call.call_id),
        ("origCallId", call.call_id),
        ("user[]", "Erika Mustermann"),
        ("userId[]", "w0"),
        ("fullUserId[]", f"{MASTER_SIP_ID}w0"),
        ("xcid", xcid),
    ]
    assert len(call.call_id) == 32
    assert call.call_id == call.call_id.upper()
    int(call.call_id, 16)
    assert xcid
    other = await sandbox.simulate_call(receiver.url("none"))
    assert other.call_id != call.call_id
    assert dict(receiver.received[1].fields)["xcid"] != xcid


@pytest.mark.parametrize(
    ("users", "expected"),
    [
        (
            ("Erika Mustermann", "Max Mustermann"),
            [
                ("user[]", "Erika Mustermann"),
                ("user[]", "Max Mustermann"),
                ("userId[]", "w0"),
                ("userId[]", "w1"),
                ("fullUserId[]", f"{MASTER_SIP_ID}w0"),
                ("fullUserId[]", f"{MASTER_SIP_ID}w1"),
            ],
        ),
        ((), [("user[]", "")]),
    ],
)
async def test_new_call_users(
    sandbox: SipgateSandbox,
    receiver: Receiver,
    users: tuple[str, ...],
    expected: list[tuple[str, str]],
) -> None:
    """One user[] per user with IDs; none: one empty user[] and no IDs."""
    await sandbox.simulate_call(
        receiver.url("none"), users=users, from_="anonymous", direction="out"
    )
    fields = receiver.received[0].fields
    assert [f for f in fields if f[0].endswith("[]")] == expected
    assert ("from", "anonymous") in fields
    assert ("direction", "out") in fields


async def test_answer_and_hangup_fields_incoming(
    sandbox: SipgateSandbox, receiver: Receiver
) -> None:
    """The answer push names who answered; hangup has cause and number."""
    call = await sandbox.simulate_call(
        receiver.url("both"), answering_number="4921199991"
    )
    assert receiver.received[1].fields == [
        ("event", "answer"),
        ("callId", call.call_id),
        ("from", "492111234567"),
        ("to", "4921199990"),
        ("direction", "in"),
        ("answeringNumber", "4921199991"),
        ("user", "Erika Mustermann"),
        ("userId", "w0"),
        ("fullUserId", f"{MASTER_SIP_ID}w0"),
    ]
    assert receiver.received[2].fields == [
        ("event", "hangup"),
        ("callId", call.call_id),
        ("cause", "normalClearing"),
        ("from", "492111234567"),
        ("to", "4921199990"),
        ("direction", "in"),
        ("answeringNumber", "4921199991"),
    ]


async def test_answer_and_hangup_fields_outgoing(
    sandbox: SipgateSandbox, receiver: Receiver
) -> None:
    """An outgoing answer has no user fields; answeringNumber defaults to to."""
    call = await sandbox.simulate_call(
        receiver.url("both"),
        direction="out",
        from_="4921199990",
        to="4915799912345",
        cause="busy",
    )
    assert receiver.received[1].fields == [
        ("event", "answer"),
        ("callId", call.call_id),
        ("from", "4921199990"),
        ("to", "4915799912345"),
        ("direction", "out"),
        ("answeringNumber", "4915799912345"),
    ]
    assert dict(receiver.received[2].fields)["cause"] == "busy"
    assert dict(receiver.received[2].fields)["answeringNumber"] == "4915799912345"


@pytest.mark.parametrize(
    ("name", "paths"),
    [
        ("both", ["/both", "/answer", "/hangup"]),
        ("bare", ["/bare", "/answer", "/hangup"]),
        ("hangup-only", ["/hangup-only", "/hangup"]),
        ("answer-only", ["/answer-only", "/answer"]),
        ("empty-attributes", ["/empty-attributes"]),
        ("none", ["/none"]),
        ("other-root", ["/other-root"]),
        ("plain", ["/plain"]),
        ("fail", ["/fail"]),
    ],
)
async def test_follow_ups_only_where_asked(
    sandbox: SipgateSandbox, receiver: Receiver, name: str, paths: list[str]
) -> None:
    """The answer and hangup pushes go only where a 200 XML answer asks."""
    call = await sandbox.simulate_call(receiver.url(name))
    assert receiver.paths == paths
    assert call.events == [parse(r)["event"] for r in receiver.received]
    assert (call.on_answer is not None) == ("/answer" in paths)
    assert (call.on_hangup is not None) == ("/hangup" in paths)
    assert (call.state, call.answered) == ("ended", True)
    status, content_type, _ = ANSWERS[name]
    assert (call.pushes[0].status, call.pushes[0].content_type) == (
        status,
        f"{content_type}; charset=utf-8",
    )


def parse(received: Received) -> dict[str, str]:
    """Return the fields of a received push as a dict."""
    return dict(received.fields)


# --- The push side: scripts ------------------------------------------------------


@pytest.mark.parametrize(("cause", "sent"), [(None, "noAnswer"), ("cancel", "cancel")])
async def test_missed_call(
    sandbox: SipgateSandbox, receiver: Receiver, cause: str | None, sent: str
) -> None:
    """Without an answer: no answer push, hangup without answeringNumber."""
    call = await sandbox.simulate_call(receiver.url("both"), answer=False, cause=cause)
    assert receiver.paths == ["/both", "/hangup"]
    assert receiver.received[1].fields == [
        ("event", "hangup"),
        ("callId", call.call_id),
        ("cause", sent),
        ("from", "492111234567"),
        ("to", "4921199990"),
        ("direction", "in"),
    ]
    assert (call.state, call.answered) == ("ended", False)


async def test_dropped_hangup(
    http: Any, sandbox: SipgateSandbox, receiver: Receiver
) -> None:
    """drop: the call ends without a hangup push and is gone for RTCM."""
    call = await sandbox.simulate_call(
        receiver.url("both"), hangup="drop", hangup_after=0.01
    )
    assert receiver.paths == ["/both", "/answer"]
    assert call.state == "ended"
    assert (await http("GET", "/v2/calls"))[1] == {"data": []}
    status, _, _ = await http("DELETE", f"/v2/calls/{call.call_id}")
    assert status == 404
    await sandbox.wait_for_pushes()
    assert len(receiver.received) == 2


async def test_answer_after_and_hangup_after_wait(
    sandbox: SipgateSandbox, receiver: Receiver
) -> None:
    """The script waits the given seconds between the pushes."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    call = await sandbox.simulate_call(
        receiver.url("both"), answer_after=0.1, hangup_after=0.1
    )
    assert loop.time() - start >= 0.2
    assert call.events == ["newCall", "answer", "hangup"]


async def test_on_delete_call_is_listed_then_hung_up(
    http: Any, sandbox: SipgateSandbox, receiver: Receiver
) -> None:
    """on_delete: established and listed until DELETE, then a signed hangup."""
    call = await sandbox.simulate_call(receiver.url("both"), hangup="on_delete")
    assert (call.state, call.events) == ("established", ["newCall", "answer"])
    status, answer, _ = await http("GET", "/v2/calls")
    assert (status, answer) == (
        200,
        {
            "data": [
                {
                    "callId": call.call_id,
                    "muted": False,
                    "recording": False,
                    "hold": False,
                    "participants": [
                        {
                            "participantId": call.participant_ids[0],
                            "phoneNumber": "+4921199990",
                            "muted": False,
                            "hold": False,
                            "owner": True,
                        },
                        {
                            "participantId": call.participant_ids[1],
                            "phoneNumber": "+492111234567",
                            "muted": False,
                            "hold": False,
                            "owner": False,
                        },
                    ],
                }
            ]
        },
    )
    assert await http("DELETE", f"/v2/calls/{call.call_id}") == (
        204,
        None,
        "application/octet-stream",
    )
    assert call.state == "ended"
    await sandbox.wait_for_pushes()
    assert receiver.paths == ["/both", "/answer", "/hangup"]
    hangup = receiver.received[2]
    assert parse(hangup)["cause"] == "normalClearing"
    assert parse(hangup)["answeringNumber"] == "4921199990"
    verify(sandbox, hangup.body, hangup.headers["x-sipgate-signature"])
    assert (await http("GET", "/v2/calls"))[1] == {"data": []}
    assert await http("DELETE", f"/v2/calls/{call.call_id}") == (
        404,
        {"name": "RESOURCE_NOT_FOUND", "message": "Call not found"},
        "application/json",
    )
    assert len(sandbox.requests_to("DELETE", f"/v2/calls/{call.call_id}")) == 2


async def test_ringing_call_is_not_listed_but_can_be_hung_up(
    http: Any, sandbox: SipgateSandbox, receiver: Receiver
) -> None:
    """A ringing call is not in GET /calls; DELETE ends it unanswered."""
    call = await sandbox.simulate_call(
        receiver.url("both"), answer=False, hangup="on_delete"
    )
    assert call.state == "ringing"
    assert (await http("GET", "/v2/calls"))[1] == {"data": []}
    assert (await http("DELETE", f"/v2/calls/{call.call_id}"))[0] == 204
    await sandbox.wait_for_pushes()
    assert receiver.received[1].fields == [
        ("event", "hangup"),
        ("callId", call.call_id),
        ("cause", "normalClearing"),
        ("from", "492111234567"),
        ("to", "4921199990"),
        ("direction", "in"),
    ]


async def test_delete_of_an_unknown_call(http: Any) -> None:
    """An unknown call id gets 404 in sipgate's error format."""
    assert await http("DELETE", "/v2/calls/0123456789ABCDEF") == (
        404,
        {"name": "RESOURCE_NOT_FOUND", "message": "Call not found"},
        "application/json",
    )


async def test_delete_without_on_hangup_sends_nothing(
    http: Any, sandbox: SipgateSandbox, receiver: Receiver
) -> None:
    """DELETE ends a call whose answer asked for no hangup, silently."""
    call = await sandbox.simulate_call(receiver.url("none"), hangup="on_delete")
    assert (await http("DELETE", f"/v2/calls/{call.call_id}"))[0] == 204
    await sandbox.wait_for_pushes()
    assert (call.state, receiver.paths) == ("ended", ["/none"])


async def test_delete_interrupts_a_waiting_script(
    http: Any, sandbox: SipgateSandbox, receiver: Receiver
) -> None:
    """A DELETE during hangup_after ends the call at once, with one hangup."""
    running = asyncio.create_task(
        sandbox.simulate_call(receiver.url("both"), hangup_after=60)
    )
    await receiver.wait_for(2)
    (call,) = sandbox.push_calls.values()
    assert call.state == "established"
    assert (await http("DELETE", f"/v2/calls/{call.call_id}"))[0] == 204
    async with asyncio.timeout(5):
        assert await running is call
    await sandbox.wait_for_pushes()
    assert [parse(r)["event"] for r in receiver.received] == [
        "newCall",
        "answer",
        "hangup",
    ]
    assert parse(receiver.received[2])["cause"] == "normalClearing"


@pytest.mark.parametrize(
    ("direction", "from_", "to", "numbers"),
    [
        ("in", "anonymous", "4921199990", [("+4921199990", True), ("", False)]),
        (
            "out",
            "4921199990",
            "4915799912345",
            [("+4921199990", True), ("+4915799912345", False)],
        ),
    ],
)
def test_rtcm_participants(
    direction: str, from_: str, to: str, numbers: list[tuple[str, bool]]
) -> None:
    """The owner is the sipgate side; an anonymous number is empty."""
    call = SimulatedCall(url="http://x", direction=direction, from_=from_, to=to)
    assert [
        (p["phoneNumber"], p["owner"]) for p in call.rtcm()["participants"]
    ] == numbers


async def test_unreachable_url(sandbox: SipgateSandbox, socket_enabled: None) -> None:
    """A push that gets no answer is recorded without status; no follow-ups."""
    call = await sandbox.simulate_call("http://127.0.0.1:9/push")
    assert call.events == ["newCall"]
    assert call.pushes[0].status is None
    assert "ClientConnectorError" in call.pushes[0].text
    assert call.state == "ended"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"hangup": "later"}, "hangup takes one of send, drop, on_delete"),
        ({"cause": "hungUp"}, f"cause takes one of {', '.join(HANGUP_CAUSES)}"),
        ({"direction": "inbound"}, "direction takes one of in, out"),
        ({"answer_after": -1}, "answer_after takes seconds from 0 to 3600"),
    ],
)
async def test_simulate_call_refuses_a_wrong_script(
    sandbox: SipgateSandbox, receiver: Receiver, options: Any, message: str
) -> None:
    """A wrong script raises ValueError before anything is sent."""
    with pytest.raises(ValueError, match=message):
        await sandbox.simulate_call(receiver.url("both"), **options)
    assert (sandbox.push_calls, sandbox.pushes, receiver.received) == ({}, [], [])


# --- send_push ---------------------------------------------------------------------


async def test_send_push_signs_or_not(
    sandbox: SipgateSandbox, receiver: Receiver
) -> None:
    """send_push signs by default, sends a given signature, or none."""
    fields = [("event", "hangup"), ("callId", "ABC"), ("cause", "busy")]
    assert await sandbox.send_push(receiver.url("answer"), fields) == (
        200,
        "",
        "text/plain; charset=utf-8",
    )
    first = receiver.received[0]
    assert first.body == b"event=hangup&callId=ABC&cause=busy"
    verify(sandbox, first.body, first.headers["x-sipgate-signature"])
    await sandbox.send_push(receiver.url("answer"), fields, signature="Zm9v")
    assert receiver.received[1].headers["x-sipgate-signature"] == "Zm9v"
    await sandbox.send_push(receiver.url("answer"), fields, signature=None)
    assert "x-sipgate-signature" not in receiver.received[2].headers
    assert {name: receiver.received[2].headers[name] for name in PUSH_HEADERS} == (
        PUSH_HEADERS
    )
    assert [(p.event, p.call_id, p.signature) for p in sandbox.pushes] == [
        ("hangup", "ABC", first.headers["x-sipgate-signature"]),
        ("hangup", "ABC", "Zm9v"),
        ("hangup", "ABC", None),
    ]


async def test_send_push_replays_and_tampers(
    sandbox: SipgateSandbox, receiver: Receiver
) -> None:
    """A recorded push can be replayed byte for byte, or changed."""
    call = await sandbox.simulate_call(receiver.url("none"))
    original = call.pushes[0]
    await sandbox.send_push(
        receiver.url("none"), original.body, signature=original.signature
    )
    replay = receiver.received[1]
    assert (replay.body, replay.headers["x-sipgate-signature"]) == (
        original.body,
        original.signature,
    )
    changed = [(k, "anonymous" if k == "from" else v) for k, v in original.fields]
    await sandbox.send_push(receiver.url("none"), changed, signature=original.signature)
    tampered = receiver.received[2]
    assert parse(tampered)["from"] == "anonymous"
    assert original.signature is not None
    with pytest.raises(InvalidSignature):
        verify(sandbox, tampered.body, original.signature)


# --- Control endpoints of the push side ------------------------------------------


async def test_control_push_call(
    http: Any, sandbox: SipgateSandbox, receiver: Receiver
) -> None:
    """POST /_sandbox/push/call starts a call; push/calls shows its course."""
    status, answer, _ = await http(
        "POST",
        "/_sandbox/push/call",
        json={
            "url": receiver.url("both"),
            "direction": "out",
            "from": "4921199990",
            "to": "4915799912345",
            "users": ["Erika Mustermann"],
            "answer": True,
            "answering_number": None,
            "answer_after": 0,
            "hangup": "send",
            "hangup_after": 0.01,
            "cause": "busy",
        },
    )
    assert status == 200
    call_id = answer["callId"]
    assert set(sandbox.push_calls) == {call_id}
    await sandbox.wait_for_pushes()
    assert parse(receiver.received[2])["cause"] == "busy"
    assert await http("GET", "/_sandbox/push/calls") == (
        200,
        [
            {
                "callId": call_id,
                "url": receiver.url("both"),
                "direction": "out",
                "from": "4921199990",
                "to": "4915799912345",
                "state": "ended",
                "onAnswer": receiver.url("answer"),
                "onHangup": receiver.url("hangup"),
                "pushes": [
                    {"event": "newCall", "url": receiver.url("both"), "status": 200},
                    {"event": "answer", "url": receiver.url("answer"), "status": 200},
                    {"event": "hangup", "url": receiver.url("hangup"), "status": 200},
                ],
            }
        ],
        "application/json",
    )


async def test_control_push_call_answers_at_once(
    http: Any, sandbox: SipgateSandbox, receiver: Receiver
) -> None:
    """The call id comes before the script ends; DELETE ends it early."""
    _, answer, _ = await http(
        "POST",
        "/_sandbox/push/call",
        json={"url": receiver.url("both"), "hangup_after": 60},
    )
    call = sandbox.push_calls[answer["callId"]]
    await receiver.wait_for(2)
    assert call.state == "established"
    assert (await http("DELETE", f"/v2/calls/{call.call_id}"))[0] == 204
    await sandbox.wait_for_pushes()
    assert call.events == ["newCall", "answer", "hangup"]


@pytest.mark.parametrize(
    ("direction", "setting"), [("in", "incoming"), ("out", "outgoing")]
)
async def test_control_push_call_pushes_to_the_sipgateio_setting(
    http: Any,
    sandbox: SipgateSandbox,
    receiver: Receiver,
    direction: str,
    setting: str,
) -> None:
    """Without url, a call pushes to the URL set for its direction, like sipgate."""
    other = "outgoing" if setting == "incoming" else "incoming"
    sandbox.sipgateio.update(
        {f"{setting}Url": receiver.url("both"), f"{other}Url": URL}
    )
    _, answer, _ = await http(
        "POST", "/_sandbox/push/call", json={"direction": direction, "answer": False}
    )
    await sandbox.wait_for_pushes()
    assert sandbox.push_calls[answer["callId"]].url == receiver.url("both")
    assert [parse(push)["direction"] for push in receiver.received] == [
        direction,
        direction,
    ]


URL = "http://127.0.0.1:9/push"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "url is required: the sipgate.io setting incomingUrl is empty"),
        (
            {"direction": "out"},
            "url is required: the sipgate.io setting outgoingUrl is empty",
        ),
        ({"url": 5}, "url takes str"),
        ({"url": "ftp://example/push"}, "url takes an http or https URL"),
        ({"url": URL, "colour": 1}, "Unknown push call field 'colour'"),
        ({"url": URL, "direction": "inbound"}, "direction takes one of in, out"),
        ({"url": URL, "from": 492111234567}, "from takes str"),
        ({"url": URL, "users": "Erika"}, "users takes list"),
        ({"url": URL, "users": ["Erika", 1]}, "users takes a list of str"),
        ({"url": URL, "answer": "yes"}, "answer takes bool"),
        ({"url": URL, "answer_after": -1}, "answer_after takes seconds from 0 to 3600"),
        ({"url": URL, "hangup_after": True}, "hangup_after takes int or float"),
        ({"url": URL, "hangup": "later"}, "hangup takes one of send, drop, on_delete"),
        (
            {"url": URL, "cause": "hungUp"},
            f"cause takes one of {', '.join(HANGUP_CAUSES)}",
        ),
        ({"url": URL, "cause": 3}, "cause takes str or NoneType"),
        ("url=x", "The body is not JSON"),
        ([URL], "The body is not a JSON object"),
    ],
)
async def test_control_push_call_refuses_wrong_input(
    http: Any, sandbox: SipgateSandbox, body: Any, message: str
) -> None:
    """Wrong names, types or values get 400 with why; nothing starts."""
    kwargs = {"data": body} if isinstance(body, str) else {"json": body}
    assert await http("POST", "/_sandbox/push/call", **kwargs) == (
        400,
        message,
        "text/plain",
    )
    assert (sandbox.push_calls, sandbox.pushes) == ({}, [])


async def test_reset_forgets_push_calls_but_keeps_the_key(
    http: Any, sandbox: SipgateSandbox, receiver: Receiver
) -> None:
    """Reset forgets calls and pushes and stops running scripts."""
    await sandbox.simulate_call(receiver.url("both"))
    _, answer, _ = await http(
        "POST",
        "/_sandbox/push/call",
        json={"url": receiver.url("both"), "hangup_after": 60},
    )
    running = sandbox.push_calls[answer["callId"]]
    await receiver.wait_for(5)
    assert running.state == "established"
    key = sandbox.push_public_key_pem
    assert (await http("POST", "/_sandbox/reset"))[0] == 200
    async with asyncio.timeout(5):
        await sandbox.wait_for_pushes()
    assert (sandbox.push_calls, sandbox.pushes) == ({}, [])
    assert (await http("GET", "/_sandbox/push/calls"))[1] == []
    assert sandbox.push_public_key_pem == key
    assert running.state == "ended"
    assert receiver.paths == ["/both", "/answer", "/hangup", "/both", "/answer"]


# --- SMS and balance -------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "method", "path", "body", "status"),
    [
        (TOKEN, "GET", "/v2/w0/sms", None, 200),
        (TOKEN, "POST", "/v2/sessions/sms", SMS, 204),
        (TOKEN, "GET", "/v2/balance", None, 200),
        (TOKEN_NO_BALANCE, "GET", "/v2/w0/sms", None, 200),
        (TOKEN_NO_BALANCE, "POST", "/v2/sessions/sms", SMS, 204),
        (TOKEN_NO_BALANCE, "GET", "/v2/balance", None, 403),
        (TOKEN_NO_SMS, "GET", "/v2/w0/sms", None, 403),
        (TOKEN_NO_SMS, "POST", "/v2/sessions/sms", SMS, 403),
        (TOKEN_NO_SMS, "GET", "/v2/balance", None, 200),
        (TOKEN_NO_SMS_SEND, "GET", "/v2/w0/sms", None, 200),
        (TOKEN_NO_SMS_SEND, "POST", "/v2/sessions/sms", SMS, 403),
        (TOKEN_NO_SMS_SEND, "GET", "/v2/balance", None, 200),
        (TOKEN_NO_CALLS, "POST", "/v2/sessions/sms", SMS, 403),
        (TOKEN_OTHER_USER, "GET", "/v2/w1/sms", None, 403),
        (TOKEN_OTHER_USER, "GET", "/v2/balance", None, 403),
    ],
)
async def test_sms_and_balance_scopes_per_token(
    http: Any,
    sandbox: SipgateSandbox,
    token: SandboxToken,
    method: str,
    path: str,
    body: Any,
    status: int,
) -> None:
    """The full token (scripts/develop, the end-to-end tests) may do it all."""
    sandbox.clock = lambda: NOW
    assert (await http(method, path, token=token, json=body))[0] == status
    assert len(sandbox.requests_to(method, path)) == 1


async def test_sms_extensions(http: Any, sandbox: SipgateSandbox) -> None:
    """GET /{userId}/sms lists the user's SMS extension with the user's number."""
    assert await http("GET", "/v2/w0/sms") == (
        200,
        {
            "items": [
                {
                    "id": "s0",
                    "alias": "SMS von Erika Mustermann",
                    "callerId": "+4921199990",
                }
            ]
        },
        "application/json",
    )
    # The caller id is the number simulated incoming calls go to.
    assert DEFAULT_TO == "4921199990"
    (request,) = sandbox.requests
    assert (request.method, request.path, request.body, request.json) == (
        "GET",
        "/v2/w0/sms",
        "",
        None,
    )
    assert request.headers["Authorization"] == TOKEN.authorization


async def test_sms_extensions_of_another_user(
    http: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another user's list is 403, even with ``all``; each user has their own."""
    assert await http("GET", "/v2/w1/sms") == (
        403,
        {"name": "FORBIDDEN", "message": "Missing scope sms:read"},
        "application/json",
    )
    max_all = SandboxToken(
        "token-ALL001", "33333333-4444-4555-8666-777777777777", "w1", frozenset({"all"})
    )
    monkeypatch.setattr(sandbox_module, "TOKENS", (max_all,))
    assert (await http("GET", "/v2/w0/sms", token=max_all))[0] == 403
    assert (await http("GET", "/v2/w1/sms", token=max_all))[1] == {
        "items": [
            {"id": "s1", "alias": "SMS von Max Mustermann", "callerId": "+4921199991"}
        ]
    }


@pytest.mark.parametrize("amount", [35000, 0, -120, 123456789])
async def test_balance(
    http: Any, sandbox: SipgateSandbox, control: Any, amount: int
) -> None:
    """GET /balance answers the scenario's balance in EUR (default 3.50)."""
    assert await http("GET", "/v2/balance") == (
        200,
        {"amount": 35000, "currency": "EUR"},
        "application/json",
    )
    assert (await control(json.dumps({"balance": amount})))[0] == 200
    assert (await http("GET", "/v2/balance"))[1] == {
        "amount": amount,
        "currency": "EUR",
    }
    assert [(r.method, r.path) for r in sandbox.requests] == [
        ("GET", "/v2/balance"),
        ("GET", "/v2/balance"),
    ]
    assert Scenario().balance == 35000


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"sendAt": NOW + 1},
        {"sendAt": NOW + MAX_SEND_AHEAD},
        {"sendAt": None},
        {"recipient": "004915799912345"},
        {"recipient": "0211123456"},
        {"smsId": "s0", "message": "x" * 500},
    ],
)
async def test_send_sms(
    http: Any, sandbox: SipgateSandbox, extra: dict[str, Any]
) -> None:
    """A valid SMS gets 204 without body and is kept and recorded."""
    sandbox.clock = lambda: NOW
    body = {**SMS, **extra}
    assert await http("POST", "/v2/sessions/sms", json=body) == (
        204,
        None,
        "application/octet-stream",
    )
    assert sandbox.sms == [body]
    (request,) = sandbox.requests_to("POST", "/v2/sessions/sms")
    assert request.json == body
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Authorization"] == TOKEN.authorization
    assert MAX_SEND_AHEAD == 30 * 24 * 3600


async def test_send_sms_is_recorded_for_the_control_endpoint(http: Any) -> None:
    """GET /_sandbox/requests lists the SMS request with its JSON body."""
    assert (await http("POST", "/v2/sessions/sms", json=SMS))[0] == 204
    status, recorded, _ = await http("GET", "/_sandbox/requests")
    assert status == 200
    (request,) = recorded
    assert (request["method"], request["path"], request["json"]) == (
        "POST",
        "/v2/sessions/sms",
        SMS,
    )
    assert json.loads(request["body"]) == SMS
    assert request["headers"]["Authorization"] == TOKEN.authorization


def test_send_sms_uses_the_time_by_default() -> None:
    """Without a test clock, sendAt is checked against the real time."""
    assert SipgateSandbox().clock is time.time


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({**SMS, "message": ""}, "message is empty"),
        ({**SMS, "message": " \n "}, "message is empty"),
        ({**SMS, "message": 5}, "message is empty"),
        ({"smsId": "s0", "recipient": "+4915799912345"}, "message is empty"),
        ({"recipient": "+4915799912345", "message": "Hi"}, "smsId is empty"),
        ({**SMS, "smsId": ""}, "smsId is empty"),
        ({**SMS, "smsId": 0}, "smsId is empty"),
        ({"smsId": "s0", "message": "Hi"}, "recipient is empty"),
        ({**SMS, "recipient": " "}, "recipient is empty"),
        ({**SMS, "recipient": 4915799912345}, "recipient is empty"),
        ({**SMS, "recipient": "Klaus"}, "User supplied invalid recipient number"),
        (
            {**SMS, "recipient": "+49 157 99912345"},
            "User supplied invalid recipient number",
        ),
        ({**SMS, "recipient": "12"}, "User supplied invalid recipient number"),
        ({**SMS, "sendAt": str(NOW + 60)}, "sendAt is not whole seconds"),
        ({**SMS, "sendAt": NOW + 60.5}, "sendAt is not whole seconds"),
        ({**SMS, "sendAt": True}, "sendAt is not whole seconds"),
        ({**SMS, "sendAt": NOW}, "sendAt is in the past"),
        ({**SMS, "sendAt": NOW - 1}, "sendAt is in the past"),
        ({**SMS, "sendAt": 0}, "sendAt is in the past"),
        (
            {**SMS, "sendAt": NOW + MAX_SEND_AHEAD + 1},
            "sendAt is more than 30 days ahead",
        ),
    ],
)
async def test_send_sms_refuses_wrong_input(
    http: Any, sandbox: SipgateSandbox, body: Any, error: str
) -> None:
    """A missing or wrong field gets 400 in sipgate's form; nothing is sent."""
    sandbox.clock = lambda: NOW
    assert await http("POST", "/v2/sessions/sms", json=body) == (
        400,
        {"name": "PARAMETER_INVALID", "message": error},
        "application/json",
    )
    assert sandbox.sms == []
    assert len(sandbox.requests_to("POST", "/v2/sessions/sms")) == 1


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (json.dumps([SMS]), "Body is not an object"),
        ("null", "Body is not an object"),
        ('"Hallo"', "Body is not an object"),
        ("smsId=s0", "Body is not JSON"),
        ("", "Body is not JSON"),
    ],
)
async def test_send_sms_refuses_a_body_that_is_no_object(
    http: Any, sandbox: SipgateSandbox, body: str, error: str
) -> None:
    """A JSON body that is not a JSON object gets 400 INVALID_JSON."""
    data = aiohttp.BytesPayload(body.encode(), content_type="application/json")
    assert await http("POST", "/v2/sessions/sms", data=data) == (
        400,
        {"name": "INVALID_JSON", "message": error},
        "application/json",
    )
    assert sandbox.sms == []


async def test_send_sms_needs_json(http: Any, sandbox: SipgateSandbox) -> None:
    """Another content type gets 415 before the token is looked at."""
    assert await http(
        "POST", "/v2/sessions/sms", token=WRONG_TOKEN, data="smsId=s0"
    ) == (
        415,
        {"name": "UNSUPPORTED_MEDIA_TYPE", "message": "Use application/json"},
        "application/json",
    )
    assert sandbox.sms == []
    assert len(sandbox.requests_to("POST", "/v2/sessions/sms")) == 1


@pytest.mark.parametrize("sms_id", ["s1", "s9", "e0", "p0", "S0"])
async def test_send_sms_from_an_extension_not_the_users(
    http: Any, sandbox: SipgateSandbox, sms_id: str
) -> None:
    """An smsId that is not one of the user's SMS extensions gets 403."""
    assert await http("POST", "/v2/sessions/sms", json={**SMS, "smsId": sms_id}) == (
        403,
        {"name": "FORBIDDEN", "message": "SMS extension not allowed"},
        "application/json",
    )
    assert sandbox.sms == []


async def test_send_sms_of_the_other_user(
    http: Any, sandbox: SipgateSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """W1 sends from s1 but not from s0; ``sessions:write`` counts too."""
    sender = SandboxToken(
        "token-SES001",
        "44444444-5555-4666-8777-888888888888",
        "w1",
        frozenset({"sessions:write"}),
    )
    monkeypatch.setattr(sandbox_module, "TOKENS", (sender,))
    assert (await http("POST", "/v2/sessions/sms", token=sender, json=SMS))[0] == 403
    other = {**SMS, "smsId": "s1"}
    assert (await http("POST", "/v2/sessions/sms", token=sender, json=other))[0] == 204
    assert sandbox.sms == [other]


@pytest.mark.parametrize(("balance", "status"), [(0, 402), (-1, 402), (1, 204)])
async def test_send_sms_needs_balance(
    http: Any, sandbox: SipgateSandbox, balance: int, status: int
) -> None:
    """At a balance of 0 or less an SMS gets 402, as a call does."""
    sandbox.scenario.balance = balance
    sms_status, answer, _ = await http("POST", "/v2/sessions/sms", json=SMS)
    call_status, _, _ = await http(
        "POST",
        "/v2/sessions/calls",
        json={"caller": "e0", "callee": "+4915799912345"},
    )
    assert sms_status == status
    assert call_status == (402 if status == 402 else 200)
    if status == 402:
        assert answer == {"name": "INSUFFICIENT_FUNDS", "message": "Insufficient funds"}
        assert sandbox.sms == []
    else:
        assert sandbox.sms == [SMS]


async def test_send_sms_checks_before_the_balance(
    http: Any, sandbox: SipgateSandbox
) -> None:
    """Without balance, a wrong body is 400 and another's smsId 403 first."""
    sandbox.scenario.balance = 0
    wrong = [{**SMS, "message": ""}, {**SMS, "smsId": "s1"}]
    assert [(await http("POST", "/v2/sessions/sms", json=b))[0] for b in wrong] == [
        400,
        403,
    ]


async def test_reset_forgets_sms(http: Any, sandbox: SipgateSandbox) -> None:
    """Reset forgets the SMS sent and restores the default balance."""
    sandbox.scenario.balance = 10
    assert (await http("POST", "/v2/sessions/sms", json=SMS))[0] == 204
    assert sandbox.sms == [SMS]
    assert (await http("POST", "/_sandbox/reset"))[0] == 200
    assert sandbox.sms == []
    assert (await http("GET", "/v2/balance"))[1]["amount"] == 35000


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/v2/w0/sms", 405),
        ("POST", "/v2/balance", 405),
        ("DELETE", "/v2/sessions/sms", 405),
    ],
)
async def test_sms_and_balance_wrong_methods(
    http: Any, method: str, path: str, status: int
) -> None:
    """Other methods than those served get 405."""
    assert (await http(method, path))[0] == status


# --- POST /sessions/calls refusals (compared with those of /sessions/sms) ----------


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ("[]", 400, ("INVALID_JSON", "Body is not an object")),
        ("caller=e0", 400, ("INVALID_JSON", "Body is not JSON")),
        (
            '{"caller": "e0", "callee": "+49211123456", "callerId": "anonym"}',
            400,
            ("PARAMETER_INVALID", "Invalid callerId"),
        ),
        (
            '{"caller": "Erika", "callee": "+49211123456"}',
            400,
            ("PARAMETER_INVALID", "User supplied invalid caller number"),
        ),
        (
            '{"caller": "+49211555", "callee": "+49211123456"}',
            400,
            ("PARAMETER_INVALID", "DeviceId is required if caller is a phone number"),
        ),
        (
            '{"caller": "p0", "callee": "+49211123456", "deviceId": "e1"}',
            403,
            ("FORBIDDEN", "Device not allowed"),
        ),
    ],
)
async def test_new_call_refusals(
    http: Any, sandbox: SipgateSandbox, body: str, status: int, error: tuple[str, str]
) -> None:
    """Click-to-dial refuses what sipgate refuses; nothing is dialled."""
    data = aiohttp.BytesPayload(body.encode(), content_type="application/json")
    assert await http("POST", "/v2/sessions/calls", data=data) == (
        status,
        {"name": error[0], "message": error[1]},
        "application/json",
    )
    assert sandbox.calls == []


async def test_new_call_needs_json(http: Any, sandbox: SipgateSandbox) -> None:
    """Click-to-dial without a JSON content type gets 415."""
    status, answer, _ = await http("POST", "/v2/sessions/calls", data="caller=e0")
    assert (status, answer["name"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert sandbox.calls == []


async def test_control_forgets_requests(http: Any, sandbox: SipgateSandbox) -> None:
    """DELETE /_sandbox/requests forgets the recorded requests only."""
    sandbox.scenario.balance = 5
    assert (await http("GET", "/v2/balance"))[0] == 200
    assert len(sandbox.requests) == 1
    assert await http("DELETE", "/_sandbox/requests") == (200, [], "application/json")
    assert sandbox.requests == []
    assert (await http("GET", "/_sandbox/requests"))[1] == []
    assert sandbox.scenario.balance == 5
