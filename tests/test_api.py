"""Tests of the sipgate client against HTTP servers on loopback."""

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
import pytest

from custom_components.sipgate.api import (
    DEFAULT_BASE_URL,
    DEFAULT_TIMEOUT,
    Balance,
    Device,
    Phoneline,
    SipgateAuthenticationError,
    SipgateBadRequestError,
    SipgateClient,
    SipgateClientError,
    SipgateConnectionError,
    SipgateError,
    SipgateForbiddenError,
    SipgateInsufficientFundsError,
    SipgateIoSettings,
    SipgateNoAnswerError,
    SipgateRateLimitError,
    SipgateResponseError,
    SipgateServerError,
    SipgateTimeoutError,
    SmsExtension,
    UserInfo,
)
from sipgate_lab.sandbox import (
    TOKEN,
    TOKEN_NO_BALANCE,
    TOKEN_NO_CALLS,
    TOKEN_NO_DEVICES,
    TOKEN_NO_SMS,
    TOKEN_NO_SMS_SEND,
    SandboxToken,
    SipgateSandbox,
)

type ClientFactory = Callable[..., SipgateClient]
type Handler = Callable[[web.Request], Awaitable[web.Response]]
type Serve = Callable[..., Awaitable[SipgateClient]]
type Canned = Callable[[web.Response], Awaitable[SipgateClient]]


@pytest.fixture
async def session(socket_enabled: None) -> AsyncGenerator[aiohttp.ClientSession]:
    """Return a plain aiohttp session, as Home Assistant would inject one."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def make_client(session: aiohttp.ClientSession, sandbox_url: str) -> ClientFactory:
    """Return a factory of clients that talk to the sandbox."""

    def make(token: SandboxToken = TOKEN, **kwargs: Any) -> SipgateClient:
        kwargs.setdefault("base_url", sandbox_url)
        return SipgateClient(session, token.token_id, token.token, **kwargs)

    return make


async def test_defaults(session: aiohttp.ClientSession) -> None:
    """The client talks to sipgate's public API with a 10 s timeout."""
    client = SipgateClient(session, "token-ABC123", "secret")
    assert client._base_url == DEFAULT_BASE_URL == "https://api.sipgate.com/v2"
    assert client._timeout.total == DEFAULT_TIMEOUT == 10
    assert client._timeout.connect == 5


async def test_userinfo(make_client: ClientFactory, sandbox: SipgateSandbox) -> None:
    """The user info names the web user and the account."""
    info = await make_client().async_get_userinfo()
    assert info == UserInfo(
        sub="w0", master_sip_id="1234567", domain="sipgate.de", locale="de_DE"
    )
    assert info.unique_id == "1234567w0"
    (request,) = sandbox.requests
    assert request.method == "GET"
    assert request.path == "/v2/authorization/userinfo"
    assert request.headers["Authorization"] == TOKEN.authorization
    assert request.headers["Accept"] == "application/json"
    # A GET has no body at all (not "null").
    assert request.body == ""


async def test_trailing_slash_of_base_url(
    make_client: ClientFactory, sandbox: SipgateSandbox, sandbox_url: str
) -> None:
    """A base URL with a trailing slash gives the same paths."""
    await make_client(base_url=f"{sandbox_url}/").async_get_userinfo()
    assert [request.path for request in sandbox.requests] == [
        "/v2/authorization/userinfo"
    ]


async def test_devices(make_client: ClientFactory) -> None:
    """The devices of the user come back as typed results."""
    devices = await make_client().async_get_devices("w0")
    line = (Phoneline(id="p0", alias="Erika Mustermann"),)
    assert devices == [
        Device(
            id="e0",
            alias="VoIP-Telefon von Erika Mustermann",
            type="REGISTER",
            online=True,
            phonelines=line,
        ),
        Device(
            id="y0",
            alias="Handy von Erika Mustermann",
            type="MOBILE",
            online=False,
            phonelines=line,
        ),
        Device(
            id="x0",
            alias="Büro-Festnetz",
            type="EXTERNAL",
            online=False,
            phonelines=line,
        ),
    ]


async def test_devices_without_scope(make_client: ClientFactory) -> None:
    """A token without devices:read gets 403 on the device list."""
    with pytest.raises(SipgateForbiddenError) as excinfo:
        await make_client(TOKEN_NO_DEVICES).async_get_devices("w0")
    assert excinfo.value.status == 403
    assert str(excinfo.value) == "sipgate answered GET /w0/devices with 403"


async def test_initiate_call(
    make_client: ClientFactory, sandbox: SipgateSandbox
) -> None:
    """A call sends one JSON POST with Basic auth and returns the session id."""
    session_id = await make_client().async_initiate_call(
        caller="e0", callee="+49211123456", device_id="e0", caller_id="+49211999000"
    )
    assert session_id == sandbox.calls[0]["sessionId"]
    (request,) = sandbox.requests
    assert (request.method, request.path) == ("POST", "/v2/sessions/calls")
    assert request.json == {
        "caller": "e0",
        "callee": "+49211123456",
        "deviceId": "e0",
        "callerId": "+49211999000",
    }
    assert request.headers["Authorization"] == TOKEN.authorization
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "application/json"


async def test_initiate_call_leaves_out_unset_fields(
    make_client: ClientFactory, sandbox: SipgateSandbox
) -> None:
    """DeviceId and callerId are only sent when given."""
    await make_client().async_initiate_call(caller="y0", callee="0211123456")
    assert sandbox.requests[0].json == {"caller": "y0", "callee": "0211123456"}


async def _call(client: SipgateClient, **kwargs: str) -> Any:
    return await client.async_initiate_call(
        **{"caller": "e0", "callee": "+49211123456", "device_id": "e0", **kwargs}
    )


@pytest.mark.parametrize(
    ("token", "scenario", "call", "error", "status"),
    [
        (TOKEN, {}, {"callee": "12"}, SipgateBadRequestError, 400),
        (
            TOKEN,
            {},
            {"caller": "+49211555", "device_id": " "},
            SipgateBadRequestError,
            400,
        ),
        (TOKEN, {"token_valid": False}, {}, SipgateAuthenticationError, 401),
        (TOKEN, {"balance": 0}, {}, SipgateInsufficientFundsError, 402),
        (TOKEN, {}, {"caller": "e9"}, SipgateForbiddenError, 403),
        (TOKEN_NO_CALLS, {}, {}, SipgateForbiddenError, 403),
        (TOKEN, {"rate_limit": 30}, {}, SipgateRateLimitError, 429),
        (TOKEN, {"server_error": 503}, {}, SipgateServerError, 503),
        (TOKEN, {"server_error": 500}, {}, SipgateServerError, 500),
    ],
)
async def test_call_errors(
    make_client: ClientFactory,
    sandbox: SipgateSandbox,
    token: SandboxToken,
    scenario: dict[str, Any],
    call: dict[str, str],
    error: type[SipgateError],
    status: int | None,
) -> None:
    """Each failure class has its own error carrying the status; no retry."""
    for name, value in scenario.items():
        setattr(sandbox.scenario, name, value)
    with pytest.raises(error) as excinfo:
        await _call(make_client(token), **call)
    assert type(excinfo.value) is error
    assert excinfo.value.status == status
    assert str(excinfo.value) == f"sipgate answered POST /sessions/calls with {status}"
    assert len(sandbox.requests_to("POST", "/v2/sessions/calls")) == 1


async def test_connection_lost_after_sending(
    make_client: ClientFactory, sandbox: SipgateSandbox
) -> None:
    """A connection closed after the request: sent, no answer; no retry."""
    sandbox.scenario.drop_connection = True
    with pytest.raises(SipgateNoAnswerError) as excinfo:
        await _call(make_client())
    assert type(excinfo.value) is SipgateNoAnswerError
    assert isinstance(excinfo.value, SipgateConnectionError)
    assert excinfo.value.status is None
    assert str(excinfo.value) == (
        "No answer from sipgate to POST /sessions/calls: ServerDisconnectedError"
    )
    assert len(sandbox.requests) == 1


async def test_rate_limit_retry_after(
    make_client: ClientFactory, sandbox: SipgateSandbox
) -> None:
    """The seconds sipgate asks to wait are kept."""
    sandbox.scenario.rate_limit = 30
    with pytest.raises(SipgateRateLimitError) as excinfo:
        await make_client().async_get_userinfo()
    assert excinfo.value.retry_after == 30


async def test_timeout(make_client: ClientFactory, sandbox: SipgateSandbox) -> None:
    """No answer within the timeout: sent once, may have been acted on."""
    sandbox.scenario.delay = 3
    with pytest.raises(SipgateTimeoutError) as excinfo:
        await _call(make_client(timeout=0.5))
    assert isinstance(excinfo.value, SipgateNoAnswerError)
    assert excinfo.value.status is None
    assert str(excinfo.value) == (
        "sipgate did not answer POST /sessions/calls within 0.5 s"
    )
    # It arrived (on a loaded machine perhaps only now), and only once.
    await sandbox.wait_for_requests("POST", "/v2/sessions/calls", 1)
    assert len(sandbox.requests) == 1


@pytest.mark.parametrize(("path", "status"), [("/v3", 404), ("/v2/authorization", 404)])
async def test_other_client_errors(
    session: aiohttp.ClientSession, sandbox_url: str, path: str, status: int
) -> None:
    """A wrong API address gives a client error with the status."""
    client = SipgateClient(
        session, TOKEN.token_id, TOKEN.token, base_url=sandbox_url.replace("/v2", path)
    )
    with pytest.raises(SipgateClientError) as excinfo:
        await client.async_get_userinfo()
    assert excinfo.value.status == status


async def test_connection_refused(session: aiohttp.ClientSession) -> None:
    """A closed port: nothing was sent, so it is a plain connection error."""
    server = TestServer(web.Application(), host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("/v2"))
    await server.close()
    client = SipgateClient(session, TOKEN.token_id, TOKEN.token, base_url=url)
    with pytest.raises(SipgateConnectionError) as excinfo:
        await _call(client)
    assert type(excinfo.value) is SipgateConnectionError
    assert excinfo.value.status is None
    assert str(excinfo.value) == (
        "Cannot reach sipgate for POST /sessions/calls: ClientConnectorError"
    )


async def test_connect_timeout(
    session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No connection within half the timeout: nothing was sent."""

    async def hang(*args: Any, **kwargs: Any) -> None:
        await asyncio.sleep(10)

    server = TestServer(web.Application(), host="127.0.0.1")
    await server.start_server()
    monkeypatch.setattr(session.connector, "_create_connection", hang)
    client = SipgateClient(
        session,
        TOKEN.token_id,
        TOKEN.token,
        base_url=str(server.make_url("/v2")),
        timeout=0.2,
    )
    with pytest.raises(SipgateConnectionError) as excinfo:
        await _call(client)
    assert type(excinfo.value) is SipgateConnectionError
    assert str(excinfo.value) == (
        "Cannot reach sipgate for POST /sessions/calls: ConnectionTimeoutError"
    )
    await server.close()


@pytest.fixture
async def serve(session: aiohttp.ClientSession) -> AsyncGenerator[Serve]:
    """Serve a handler for every path; return a client whose API is at ``path``."""
    servers: list[TestServer] = []

    async def start(handler: Handler, path: str = "/v2") -> SipgateClient:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return SipgateClient(
            session, "token-ABC123", "secret", base_url=str(server.make_url(path))
        )

    yield start
    for server in servers:
        await server.close()


@pytest.fixture
def canned(serve: Serve) -> Canned:
    """Serve one fixed answer for every path and return a client for it."""

    async def answer(response: web.Response) -> SipgateClient:
        async def handler(request: web.Request) -> web.Response:
            return response

        return await serve(handler)

    return answer


@pytest.mark.parametrize(
    ("method", "response", "message"),
    [
        (
            "async_get_userinfo",
            web.Response(text="<html>", content_type="text/html"),
            "sipgate answered GET /authorization/userinfo with a body that is not JSON",
        ),
        (
            "async_get_userinfo",
            web.Response(body=b"\xff\xfe{", content_type="application/json"),
            "sipgate answered GET /authorization/userinfo with a body that is not JSON",
        ),
        (
            "async_get_userinfo",
            web.json_response({"sub": "w0"}),
            "Unexpected userinfo from sipgate: KeyError('masterSipId')",
        ),
        (
            "async_get_userinfo",
            web.json_response({"sub": "", "masterSipId": "1"}),
            (
                "Unexpected userinfo from sipgate: TypeError('sub is not a "
                "non-empty string')"
            ),
        ),
        (
            "async_get_userinfo",
            web.json_response(["w0"]),
            (
                "Unexpected userinfo from sipgate: TypeError('list indices must "
                "be integers or slices, not str')"
            ),
        ),
        (
            "async_get_userinfo",
            web.Response(status=204),
            "sipgate answered GET /authorization/userinfo with 204",
        ),
        (
            "async_get_userinfo",
            web.Response(status=302, headers={"Location": "/"}),
            "sipgate answered GET /authorization/userinfo with 302",
        ),
        (
            "async_get_devices",
            web.json_response({"data": []}),
            "Unexpected device list from sipgate: KeyError('items')",
        ),
        (
            "async_get_devices",
            web.json_response({"items": [{"alias": "x"}]}),
            "Unexpected device list from sipgate: KeyError('id')",
        ),
        (
            "async_get_devices",
            web.json_response({"items": [{"id": "e0", "activePhonelines": [{}]}]}),
            "Unexpected device list from sipgate: KeyError('id')",
        ),
        (
            "async_initiate_call",
            web.json_response({}),
            "sipgate accepted the call but sent no session id",
        ),
        (
            "async_initiate_call",
            web.json_response({"sessionId": ""}),
            "sipgate accepted the call but sent no session id",
        ),
        (
            "async_initiate_call",
            web.json_response({"sessionId": 42}),
            "sipgate accepted the call but sent no session id",
        ),
        (
            "async_initiate_call",
            web.json_response([]),
            "sipgate accepted the call but sent no session id",
        ),
    ],
)
async def test_malformed_answers(
    canned: Canned, method: str, response: web.Response, message: str
) -> None:
    """Answers the client cannot read raise a response error saying why."""
    client = await canned(response)
    arguments: dict[str, Any] = {
        "async_get_userinfo": {},
        "async_get_devices": {"user_id": "w0"},
        "async_initiate_call": {"caller": "e0", "callee": "+49211123456"},
    }[method]
    with pytest.raises(SipgateResponseError) as excinfo:
        await getattr(client, method)(**arguments)
    assert excinfo.value.status == response.status
    assert str(excinfo.value) == message


async def test_other_4xx_status(canned: Canned) -> None:
    """415 is a client error with its status."""
    client = await canned(web.Response(status=415))
    with pytest.raises(SipgateClientError) as excinfo:
        await client.async_initiate_call(caller="e0", callee="+49211123456")
    assert type(excinfo.value) is SipgateClientError
    assert excinfo.value.status == 415


@pytest.mark.parametrize(
    ("headers", "retry_after"),
    [
        ({}, None),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}, None),
        ({"Retry-After": "\u00b2"}, None),
        ({"Retry-After": "-5"}, None),
        ({"Retry-After": "0"}, 0),
        ({"Retry-After": "120"}, 120),
    ],
)
async def test_rate_limit_headers(
    canned: Canned, headers: dict[str, str], retry_after: int | None
) -> None:
    """Only a number of seconds in Retry-After is a wait time."""
    client = await canned(web.Response(status=429, headers=headers))
    with pytest.raises(SipgateRateLimitError) as excinfo:
        await client.async_get_userinfo()
    assert excinfo.value.retry_after == retry_after
    assert excinfo.value.status == 429


async def test_base_url_path_kept(serve: Serve) -> None:
    """Only the trailing slash goes: a path ending in other letters stays."""
    paths: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        paths.append(request.path)
        return web.json_response({"sub": "w0", "masterSipId": "1"})

    client = await serve(handler, "/apiX/")
    await client.async_get_userinfo()
    assert paths == ["/apiX/authorization/userinfo"]


async def test_answers_without_optional_fields(canned: Canned) -> None:
    """Missing optional fields get their defaults."""
    client = await canned(web.json_response({"sub": "w0", "masterSipId": "1234567"}))
    assert await client.async_get_userinfo() == UserInfo(
        sub="w0", master_sip_id="1234567", domain="", locale=""
    )
    client = await canned(
        web.json_response(
            {"items": [{"id": "e3", "activePhonelines": [{"id": "p3"}]}, {"id": "e4"}]}
        )
    )
    assert await client.async_get_devices("w0") == [
        Device(
            id="e3",
            alias="e3",
            type="",
            online=False,
            phonelines=(Phoneline(id="p3", alias="p3"),),
        ),
        Device(id="e4", alias="e4", type="", online=False),
    ]


async def test_hangup_call(
    make_client: ClientFactory, sandbox: SipgateSandbox, sandbox_url: str
) -> None:
    """204 ends the call (True); 404 means it is over already (False)."""
    call = await sandbox.simulate_call(
        "http://127.0.0.1:9/unreachable", hangup="on_delete"
    )
    client = make_client()
    assert await client.async_hangup_call(call.call_id) is True
    assert await client.async_hangup_call(call.call_id) is False
    assert [r.method for r in sandbox.requests] == ["DELETE", "DELETE"]
    await sandbox.wait_for_pushes()


async def test_hangup_call_without_scope(make_client: ClientFactory) -> None:
    """A token without rtcm:write gets 403."""
    with pytest.raises(SipgateForbiddenError):
        await make_client(TOKEN_NO_DEVICES).async_hangup_call("ABC")


async def test_hangup_answers(canned: Canned) -> None:
    """Any success is a hang-up; a body is not read; other 4xx raise."""
    client = await canned(web.Response(status=200, text="not json"))
    assert await client.async_hangup_call("ABC") is True
    client = await canned(web.Response(status=405))
    with pytest.raises(SipgateClientError) as excinfo:
        await client.async_hangup_call("ABC")
    assert excinfo.value.status == 405
    client = await canned(web.Response(status=202, text="queued"))
    assert await client.async_hangup_call("ABC") is True
    client = await canned(web.Response(status=299))
    assert await client.async_hangup_call("ABC") is True
    client = await canned(web.Response(status=300))
    with pytest.raises(SipgateResponseError) as response_error:
        await client.async_hangup_call("ABC")
    assert response_error.value.status == 300
    assert str(response_error.value) == "sipgate answered DELETE /calls/ABC with 300"


async def test_hangup_call_quotes_the_id(serve: Serve) -> None:
    """The call id is one path segment: a slash in it is escaped too."""
    paths: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        paths.append(request.raw_path)
        return web.Response(status=204)

    client = await serve(handler)
    assert await client.async_hangup_call("a/b c?d") is True
    assert paths == ["/v2/calls/a%2Fb%20c%3Fd"]


async def test_active_calls(
    make_client: ClientFactory, sandbox: SipgateSandbox
) -> None:
    """GET /calls lists the established calls only."""
    client = make_client()
    assert await client.async_get_active_call_ids() == set()
    answered = await sandbox.simulate_call(
        "http://127.0.0.1:9/unreachable", hangup="on_delete"
    )
    await sandbox.simulate_call(
        "http://127.0.0.1:9/unreachable", answer=False, hangup="on_delete"
    )
    assert await client.async_get_active_call_ids() == {answered.call_id}
    for call_id in list(sandbox.push_calls):
        await client.async_hangup_call(call_id)
    await sandbox.wait_for_pushes()


@pytest.mark.parametrize(
    "body", [{"items": []}, {"data": [{"id": "x"}]}, {"data": [{"callId": 5}]}, []]
)
async def test_active_calls_malformed(canned: Canned, body: Any) -> None:
    """A call list the client cannot read is a response error."""
    client = await canned(web.json_response(body))
    with pytest.raises(SipgateResponseError, match="Unexpected call list") as excinfo:
        await client.async_get_active_call_ids()
    assert excinfo.value.status == 200


async def test_contact_name(
    make_client: ClientFactory, sandbox: SipgateSandbox
) -> None:
    """A contact with the number names it; an unknown number has no name."""
    client = make_client()
    assert await client.async_get_contact_name("+4915799912345") == "Nachbar Klaus"
    assert await client.async_get_contact_name("+492110000000") is None
    request = sandbox.requests_to("GET", "/v2/contacts")[0]
    assert request.headers["Authorization"] == TOKEN.authorization
    with pytest.raises(SipgateForbiddenError):
        await make_client(TOKEN_NO_DEVICES).async_get_contact_name("+4915799912345")


async def test_contact_name_filter(serve: Serve) -> None:
    """The number goes out under both names sipgate documents for the filter."""
    queries: list[tuple[str, str, list[tuple[str, str]]]] = []

    async def handler(request: web.Request) -> web.Response:
        queries.append((request.method, request.path, list(request.query.items())))
        return web.json_response({"items": []})

    client = await serve(handler)
    assert await client.async_get_contact_name("+49211123456") is None
    assert queries == [
        (
            "GET",
            "/v2/contacts",
            [("phonenumbers[]", "+49211123456"), ("phonenumbers", "+49211123456")],
        )
    ]


@pytest.mark.parametrize(
    ("number", "name"), [("+49211123456", "Oma Erna"), ("+49211999", None)]
)
async def test_contact_name_checks_the_numbers(
    canned: Canned, number: str, name: str | None
) -> None:
    """Only a contact that has the number counts, however sipgate filtered."""
    client = await canned(
        web.json_response(
            {
                "items": [
                    {"name": "Somebody else", "numbers": [{"number": "+49211000"}]},
                    {"name": "", "numbers": [{"number": "+49211123456"}]},
                    {"name": "No numbers"},
                    {"name": "Oma Erna", "numbers": [{"number": "+49 211 123-456"}]},
                ]
            }
        )
    )
    assert await client.async_get_contact_name(number) == name


@pytest.mark.parametrize(
    "body", [{"data": []}, {"items": [{"name": "x", "numbers": [{}]}]}, [], "x"]
)
async def test_contacts_malformed(canned: Canned, body: Any) -> None:
    """A contact list the client cannot read is a response error."""
    client = await canned(web.json_response(body))
    with pytest.raises(
        SipgateResponseError, match="Unexpected contact list"
    ) as excinfo:
        await client.async_get_contact_name("+49211123456")
    assert excinfo.value.status == 200


async def test_sipgateio_settings(
    make_client: ClientFactory, sandbox: SipgateSandbox
) -> None:
    """The settings are read and written whole."""
    client = make_client()
    settings = await client.async_get_sipgateio_settings()
    assert settings == SipgateIoSettings(
        incoming_url="", outgoing_url="", log=False, whitelist=()
    )
    changed = SipgateIoSettings(
        incoming_url="https://a.example/in",
        outgoing_url="https://a.example/out",
        log=True,
        whitelist=("+49211",),
    )
    await client.async_set_sipgateio_settings(changed)
    assert await client.async_get_sipgateio_settings() == changed
    (put,) = sandbox.requests_to("PUT", "/v2/settings/sipgateio")
    assert put.json == {
        "incomingUrl": "https://a.example/in",
        "outgoingUrl": "https://a.example/out",
        "log": True,
        "whitelist": ["+49211"],
    }
    with pytest.raises(SipgateForbiddenError):
        await make_client(TOKEN_NO_DEVICES).async_get_sipgateio_settings()


async def test_sipgateio_settings_defaults(canned: Canned) -> None:
    """Missing fields get their defaults; an unreadable answer raises."""
    client = await canned(web.json_response({"incomingUrl": None}))
    assert await client.async_get_sipgateio_settings() == SipgateIoSettings(
        incoming_url="", outgoing_url="", log=False, whitelist=()
    )
    client = await canned(web.json_response(["x"]))
    with pytest.raises(
        SipgateResponseError, match=r"Unexpected sipgate\.io settings"
    ) as excinfo:
        await client.async_get_sipgateio_settings()
    assert excinfo.value.status == 200


@pytest.mark.parametrize(
    ("method", "arguments", "what"),
    [
        ("async_get_active_call_ids", {}, "GET /calls"),
        ("async_get_contact_name", {"number": "+49211123456"}, "GET /contacts"),
        ("async_get_sipgateio_settings", {}, "GET /settings/sipgateio"),
        (
            "async_set_sipgateio_settings",
            {
                "settings": SipgateIoSettings(
                    incoming_url="", outgoing_url="", log=False, whitelist=()
                )
            },
            "PUT /settings/sipgateio",
        ),
    ],
)
async def test_errors_name_the_request(
    canned: Canned, method: str, arguments: dict[str, Any], what: str
) -> None:
    """An error names the HTTP method, in capitals, and the path."""
    client = await canned(web.Response(status=500))
    with pytest.raises(SipgateServerError) as excinfo:
        await getattr(client, method)(**arguments)
    assert excinfo.value.status == 500
    assert str(excinfo.value) == f"sipgate answered {what} with 500"


async def test_sms_extensions(
    make_client: ClientFactory, sandbox: SipgateSandbox
) -> None:
    """The user's SMS extensions come back with alias and caller id."""
    extensions = await make_client().async_get_sms_extensions("w0")
    assert extensions == [
        SmsExtension(id="s0", alias="SMS von Erika Mustermann", caller_id="+4921199990")
    ]
    (request,) = sandbox.requests
    assert (request.method, request.path, request.body) == ("GET", "/v2/w0/sms", "")
    assert request.headers["Authorization"] == TOKEN.authorization


@pytest.mark.parametrize(
    ("token", "user_id"),
    [(TOKEN_NO_SMS, "w0"), (TOKEN_NO_DEVICES, "w0"), (TOKEN, "w1")],
)
async def test_sms_extensions_forbidden(
    make_client: ClientFactory, token: SandboxToken, user_id: str
) -> None:
    """Without sms:read, or for another user, the list gets 403."""
    with pytest.raises(SipgateForbiddenError) as excinfo:
        await make_client(token).async_get_sms_extensions(user_id)
    assert excinfo.value.status == 403
    assert str(excinfo.value) == f"sipgate answered GET /{user_id}/sms with 403"


async def test_sms_extensions_without_optional_fields(canned: Canned) -> None:
    """The alias falls back to the id, the caller id to empty."""
    client = await canned(
        web.json_response(
            {
                "items": [
                    {"id": "s3"},
                    {"id": "s4", "alias": "", "callerId": None},
                    {"id": "s5", "alias": "Büro", "callerId": "+49211555"},
                ]
            }
        )
    )
    assert await client.async_get_sms_extensions("w0") == [
        SmsExtension(id="s3", alias="s3", caller_id=""),
        SmsExtension(id="s4", alias="s4", caller_id=""),
        SmsExtension(id="s5", alias="Büro", caller_id="+49211555"),
    ]
    client = await canned(web.json_response({"items": []}))
    assert await client.async_get_sms_extensions("w0") == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"data": []}, "KeyError('items')"),
        ({"items": [{"alias": "SMS"}]}, "KeyError('id')"),
        ({"items": [{"id": ""}]}, "TypeError('id is not a non-empty string')"),
        ({"items": [{"id": 0}]}, "TypeError('id is not a non-empty string')"),
        (
            {"items": ["s0"]},
            "TypeError(\"string indices must be integers, not 'str'\")",
        ),
        ({"items": None}, "TypeError(\"'NoneType' object is not iterable\")"),
        ([], "TypeError('list indices must be integers or slices, not str')"),
    ],
)
async def test_sms_extensions_malformed(canned: Canned, body: Any, reason: str) -> None:
    """An SMS extension list the client cannot read is a response error."""
    client = await canned(web.json_response(body))
    with pytest.raises(SipgateResponseError) as excinfo:
        await client.async_get_sms_extensions("w0")
    assert excinfo.value.status == 200
    assert str(excinfo.value) == f"Unexpected SMS extension list from sipgate: {reason}"


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (35000, Decimal("3.5")),
        (12345, Decimal("1.2345")),
        (1, Decimal("0.0001")),
        (0, Decimal(0)),
        (-2500, Decimal("-0.25")),
        (123456789012, Decimal("12345678.9012")),
    ],
)
async def test_balance(
    make_client: ClientFactory,
    sandbox: SipgateSandbox,
    amount: int,
    expected: Decimal,
) -> None:
    """The balance is the amount in 1/10,000 of the currency, as a Decimal."""
    sandbox.scenario.balance = amount
    balance = await make_client().async_get_balance()
    assert balance == Balance(amount=expected, currency="EUR")
    assert type(balance.amount) is Decimal
    (request,) = sandbox.requests
    assert (request.method, request.path, request.body) == ("GET", "/v2/balance", "")
    assert request.headers["Authorization"] == TOKEN.authorization


async def test_default_balance(make_client: ClientFactory) -> None:
    """The sandbox's default balance is 3.50 EUR."""
    balance = await make_client().async_get_balance()
    assert (balance.amount, balance.currency) == (Decimal("3.50"), "EUR")
    assert str(balance.amount) == "3.5"


@pytest.mark.parametrize("token", [TOKEN_NO_BALANCE, TOKEN_NO_DEVICES])
async def test_balance_without_scope(
    make_client: ClientFactory, token: SandboxToken
) -> None:
    """A token without balance:read gets 403."""
    with pytest.raises(SipgateForbiddenError) as excinfo:
        await make_client(token).async_get_balance()
    assert excinfo.value.status == 403
    assert str(excinfo.value) == "sipgate answered GET /balance with 403"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"amount": True, "currency": "EUR"}, "amount is not a whole number"),
        ({"amount": 3.5, "currency": "EUR"}, "amount is not a whole number"),
        ({"amount": 35000.0, "currency": "EUR"}, "amount is not a whole number"),
        ({"amount": "35000", "currency": "EUR"}, "amount is not a whole number"),
        ({"amount": None, "currency": "EUR"}, "amount is not a whole number"),
        ({"amount": 35000, "currency": ""}, "currency is not a non-empty string"),
        ({"amount": 35000, "currency": None}, "currency is not a non-empty string"),
    ],
)
async def test_balance_wrong_types(canned: Canned, body: Any, reason: str) -> None:
    """Booleans, non-integers and an empty currency are refused."""
    client = await canned(web.json_response(body))
    with pytest.raises(SipgateResponseError) as excinfo:
        await client.async_get_balance()
    assert excinfo.value.status == 200
    assert (
        str(excinfo.value) == f"Unexpected balance from sipgate: TypeError('{reason}')"
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"currency": "EUR"}, "KeyError('amount')"),
        ({"amount": 35000}, "KeyError('currency')"),
        (
            [35000, "EUR"],
            "TypeError('list indices must be integers or slices, not str')",
        ),
        (None, "TypeError(\"'NoneType' object is not subscriptable\")"),
    ],
)
async def test_balance_malformed(canned: Canned, body: Any, reason: str) -> None:
    """A balance the client cannot read is a response error saying why."""
    client = await canned(web.json_response(body))
    with pytest.raises(SipgateResponseError) as excinfo:
        await client.async_get_balance()
    assert str(excinfo.value) == f"Unexpected balance from sipgate: {reason}"


async def test_balance_not_json(canned: Canned) -> None:
    """A balance that is not JSON is a response error."""
    client = await canned(web.Response(text="3,50 EUR"))
    with pytest.raises(SipgateResponseError) as excinfo:
        await client.async_get_balance()
    assert str(excinfo.value) == (
        "sipgate answered GET /balance with a body that is not JSON"
    )


async def test_send_sms(make_client: ClientFactory, sandbox: SipgateSandbox) -> None:
    """An SMS is one JSON POST with Basic auth; no sendAt unless given."""
    await make_client().async_send_sms(
        sms_id="s0", recipient="+4915799912345", message="Grüße aus Düsseldorf 👋"
    )
    sent = {
        "smsId": "s0",
        "recipient": "+4915799912345",
        "message": "Grüße aus Düsseldorf 👋",
    }
    (request,) = sandbox.requests
    assert (request.method, request.path) == ("POST", "/v2/sessions/sms")
    assert request.json == sent
    assert request.headers["Authorization"] == TOKEN.authorization
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "application/json"
    assert sandbox.sms == [sent]


async def test_send_sms_at(make_client: ClientFactory, sandbox: SipgateSandbox) -> None:
    """SendAt is sent as given, in epoch seconds."""
    sandbox.clock = lambda: 1_800_000_000.5
    await make_client().async_send_sms(
        sms_id="s0", recipient="0211123456", message="Later", send_at=1_800_000_060
    )
    assert sandbox.requests[0].json == {
        "smsId": "s0",
        "recipient": "0211123456",
        "message": "Later",
        "sendAt": 1_800_000_060,
    }
    assert len(sandbox.sms) == 1


async def _sms(client: SipgateClient, **kwargs: Any) -> None:
    await client.async_send_sms(
        **{"sms_id": "s0", "recipient": "+4915799912345", "message": "Hi", **kwargs}
    )


@pytest.mark.parametrize(
    ("token", "scenario", "sms", "error", "status"),
    [
        (TOKEN, {}, {"message": " "}, SipgateBadRequestError, 400),
        (TOKEN, {}, {"recipient": "Klaus"}, SipgateBadRequestError, 400),
        (TOKEN, {}, {"send_at": 1}, SipgateBadRequestError, 400),
        (TOKEN, {"token_valid": False}, {}, SipgateAuthenticationError, 401),
        (TOKEN, {"balance": 0}, {}, SipgateInsufficientFundsError, 402),
        (TOKEN, {}, {"sms_id": "s1"}, SipgateForbiddenError, 403),
        (TOKEN_NO_SMS_SEND, {}, {}, SipgateForbiddenError, 403),
        (TOKEN_NO_SMS, {}, {}, SipgateForbiddenError, 403),
        (TOKEN, {"rate_limit": 30}, {}, SipgateRateLimitError, 429),
        (TOKEN, {"server_error": 503}, {}, SipgateServerError, 503),
        (TOKEN, {"server_error": 500}, {}, SipgateServerError, 500),
    ],
)
async def test_send_sms_errors(
    make_client: ClientFactory,
    sandbox: SipgateSandbox,
    token: SandboxToken,
    scenario: dict[str, Any],
    sms: dict[str, Any],
    error: type[SipgateError],
    status: int,
) -> None:
    """Each failure class has its own error carrying the status; no retry."""
    for name, value in scenario.items():
        setattr(sandbox.scenario, name, value)
    with pytest.raises(error) as excinfo:
        await _sms(make_client(token), **sms)
    assert type(excinfo.value) is error
    assert excinfo.value.status == status
    assert str(excinfo.value) == f"sipgate answered POST /sessions/sms with {status}"
    assert len(sandbox.requests_to("POST", "/v2/sessions/sms")) == 1
    assert len(sandbox.requests) == 1
    assert sandbox.sms == []


async def test_send_sms_connection_lost(
    make_client: ClientFactory, sandbox: SipgateSandbox
) -> None:
    """A connection closed after the request: sent, no answer; no retry."""
    sandbox.scenario.drop_connection = True
    with pytest.raises(SipgateNoAnswerError) as excinfo:
        await _sms(make_client())
    assert type(excinfo.value) is SipgateNoAnswerError
    assert excinfo.value.status is None
    assert str(excinfo.value) == (
        "No answer from sipgate to POST /sessions/sms: ServerDisconnectedError"
    )
    assert len(sandbox.requests) == 1


async def test_send_sms_timeout(
    make_client: ClientFactory, sandbox: SipgateSandbox
) -> None:
    """No answer within the timeout: sent once, may have been sent on."""
    sandbox.scenario.delay = 2
    with pytest.raises(SipgateTimeoutError) as excinfo:
        await _sms(make_client(timeout=0.05))
    assert excinfo.value.status is None
    assert str(excinfo.value) == (
        "sipgate did not answer POST /sessions/sms within 0.05 s"
    )
    assert len(sandbox.requests) == 1


@pytest.mark.parametrize(
    "response",
    [
        web.Response(status=200, text="not json"),
        web.json_response({"id": "x"}, status=201),
        web.Response(status=202),
        web.Response(status=204),
    ],
)
async def test_send_sms_any_success(canned: Canned, response: web.Response) -> None:
    """Any 2xx is success (no error raised); the answer is not read."""
    client = await canned(response)
    await _sms(client)


@pytest.mark.parametrize(
    ("status", "error"), [(302, SipgateResponseError), (415, SipgateClientError)]
)
async def test_send_sms_other_statuses(
    canned: Canned, status: int, error: type[SipgateError]
) -> None:
    """A redirect is not success; another 4xx is a client error."""
    client = await canned(web.Response(status=status, headers={"Location": "/"}))
    with pytest.raises(error) as excinfo:
        await _sms(client)
    assert type(excinfo.value) is error
    assert excinfo.value.status == status
