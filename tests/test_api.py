"""Tests of the sipgate client against HTTP servers on loopback."""

from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
import pytest

from custom_components.sipgate.api import (
    DEFAULT_BASE_URL,
    Device,
    SipgateAuthenticationError,
    SipgateBadRequestError,
    SipgateClient,
    SipgateClientError,
    SipgateConnectionError,
    SipgateError,
    SipgateForbiddenError,
    SipgateInsufficientFundsError,
    SipgateRateLimitError,
    SipgateResponseError,
    SipgateServerError,
    SipgateTimeoutError,
    UserInfo,
)
from sipgate_lab.sandbox import (
    TOKEN,
    TOKEN_NO_CALLS,
    TOKEN_NO_DEVICES,
    SandboxToken,
    SipgateSandbox,
)

type ClientFactory = Callable[..., SipgateClient]


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


async def test_default_base_url(session: aiohttp.ClientSession) -> None:
    """The client talks to sipgate's public API unless told otherwise."""
    client = SipgateClient(session, "token-ABC123", "secret")
    assert client._base_url == DEFAULT_BASE_URL == "https://api.sipgate.com/v2"


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


async def test_devices(make_client: ClientFactory) -> None:
    """The devices of the user come back as typed results."""
    devices = await make_client().async_get_devices("w0")
    assert devices == [
        Device(
            id="e0",
            alias="VoIP-Telefon von Erika Mustermann",
            type="REGISTER",
            online=True,
        ),
        Device(
            id="y0", alias="Handy von Erika Mustermann", type="MOBILE", online=False
        ),
        Device(id="x0", alias="Büro-Festnetz", type="EXTERNAL", online=False),
    ]


async def test_devices_without_scope(make_client: ClientFactory) -> None:
    """A token without devices:read gets 403 on the device list."""
    with pytest.raises(SipgateForbiddenError) as excinfo:
        await make_client(TOKEN_NO_DEVICES).async_get_devices("w0")
    assert excinfo.value.status == 403


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
        (TOKEN, {"drop_connection": True}, {}, SipgateConnectionError, None),
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
    assert len(sandbox.requests_to("POST", "/v2/sessions/calls")) == 1
    assert token.token not in str(excinfo.value)
    assert token.token_id not in str(excinfo.value)


async def test_rate_limit_retry_after(
    make_client: ClientFactory, sandbox: SipgateSandbox
) -> None:
    """The seconds sipgate asks to wait are kept."""
    sandbox.scenario.rate_limit = 30
    with pytest.raises(SipgateRateLimitError) as excinfo:
        await make_client().async_get_userinfo()
    assert excinfo.value.retry_after == 30


async def test_timeout(make_client: ClientFactory, sandbox: SipgateSandbox) -> None:
    """No answer within the timeout is a timeout error, sent once."""
    sandbox.scenario.delay = 2
    with pytest.raises(SipgateTimeoutError) as excinfo:
        await _call(make_client(timeout=0.05))
    assert isinstance(excinfo.value, SipgateConnectionError)
    assert excinfo.value.status is None
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
    """A closed port is a connection error."""
    server = TestServer(web.Application(), host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("/v2"))
    await server.close()
    client = SipgateClient(session, TOKEN.token_id, TOKEN.token, base_url=url)
    with pytest.raises(SipgateConnectionError) as excinfo:
        await client.async_get_userinfo()
    assert type(excinfo.value) is SipgateConnectionError


@pytest.fixture
async def canned(
    session: aiohttp.ClientSession,
) -> AsyncGenerator[Callable[[web.Response], Awaitable[SipgateClient]]]:
    """Serve one fixed answer for every path and return a client for it."""
    servers: list[TestServer] = []

    async def serve(response: web.Response) -> SipgateClient:
        async def handler(request: web.Request) -> web.Response:
            return response

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return SipgateClient(
            session, "token-ABC123", "secret", base_url=str(server.make_url("/v2"))
        )

    yield serve
    for server in servers:
        await server.close()


@pytest.mark.parametrize(
    ("method", "response"),
    [
        ("async_get_userinfo", web.Response(text="<html>", content_type="text/html")),
        ("async_get_userinfo", web.json_response({"sub": "w0"})),
        ("async_get_userinfo", web.json_response({"sub": "", "masterSipId": "1"})),
        ("async_get_userinfo", web.json_response(["w0"])),
        ("async_get_userinfo", web.Response(status=204)),
        ("async_get_userinfo", web.Response(status=302, headers={"Location": "/"})),
        ("async_get_devices", web.json_response({"data": []})),
        ("async_get_devices", web.json_response({"items": [{"alias": "x"}]})),
        ("async_initiate_call", web.json_response({})),
        ("async_initiate_call", web.json_response({"sessionId": ""})),
        ("async_initiate_call", web.json_response([])),
    ],
)
async def test_malformed_answers(
    canned: Callable[[web.Response], Awaitable[SipgateClient]],
    method: str,
    response: web.Response,
) -> None:
    """Answers the client cannot read raise a response error."""
    client = await canned(response)
    arguments: dict[str, Any] = {
        "async_get_userinfo": {},
        "async_get_devices": {"user_id": "w0"},
        "async_initiate_call": {"caller": "e0", "callee": "+49211123456"},
    }[method]
    with pytest.raises(SipgateResponseError) as excinfo:
        await getattr(client, method)(**arguments)
    assert excinfo.value.status == response.status


async def test_other_4xx_and_5xx_statuses(
    canned: Callable[[web.Response], Awaitable[SipgateClient]],
) -> None:
    """415 is a client error, 429 without Retry-After has no wait time."""
    client = await canned(web.Response(status=415))
    with pytest.raises(SipgateClientError) as client_error:
        await client.async_initiate_call(caller="e0", callee="+49211123456")
    assert client_error.value.status == 415
    client = await canned(web.Response(status=429, headers={"Retry-After": "soon"}))
    with pytest.raises(SipgateRateLimitError) as rate_limited:
        await client.async_get_userinfo()
    assert rate_limited.value.retry_after is None


async def test_device_without_alias(
    canned: Callable[[web.Response], Awaitable[SipgateClient]],
) -> None:
    """A device without an alias is named by its id."""
    client = await canned(
        web.json_response({"items": [{"id": "e3", "type": "REGISTER"}]})
    )
    assert await client.async_get_devices("w0") == [
        Device(id="e3", alias="e3", type="REGISTER", online=False)
    ]
