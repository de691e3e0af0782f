"""A sipgate REST API simulator for tests and demos.

It answers the endpoints the integration uses the way sipgate documents them:
HTTP Basic authentication with personal access tokens and their scopes,
``GET /authorization/userinfo``, ``GET /{userId}/devices`` and
``POST /sessions/calls`` with sipgate's validation (400, 402, 403, 415), 431
for an oversized ``Authorization`` header, and 404/405 for unknown paths and
methods. It records every API request it
receives. Scenarios (balance, token validity, a delay, a 5xx, a dropped
connection, 429 with ``Retry-After``) can be switched at run time through the
control endpoints under ``/_sandbox/``.

Run it on its own with ``python -m sipgate_lab.sandbox --port 8099`` from the
repository (``scripts/sandbox`` does that in the project's Python 3.14
environment); it logs every request. It is a test and demo tool: the
integration never uses it.
"""

import argparse
import asyncio
import base64
import binascii
from dataclasses import asdict, dataclass, field
import json
import logging
import re
import secrets
from typing import Any

from aiohttp import web

MASTER_SIP_ID = "1234567"
CALL_SCOPES = frozenset({"all", "sessions:write", "sessions:calls:write"})
DEVICE_SCOPES = frozenset({"all", "devices:read"})


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


# Tokens the sandbox knows: a full one, one without ``devices:read``, one
# without ``sessions:calls:write`` and one of another user of the account.
TOKEN = SandboxToken(
    "token-SANDB0",
    "5e0d7b1c-3f4a-4c2e-9b8d-1a2b3c4d5e6f",
    "w0",
    frozenset({"sessions:calls:write", "devices:read"}),
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
TOKENS = (TOKEN, TOKEN_NO_DEVICES, TOKEN_NO_CALLS, TOKEN_OTHER_USER)


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

_EXTENSION = re.compile(r"[a-z](?:0|[1-9][0-9]*)")
# Numbers as sipgate's own parser reads them: international with +
# or 00, national with a leading 0, short numbers (110, 116117), and, like
# sipgate, 7 to 15 bare digits as international without the +.
_NUMBER = re.compile(r"(?:\+|00)[1-9][0-9]{6,14}|0[1-9][0-9]{1,13}|[1-9][0-9]{2,14}")
# Longer Authorization headers are refused with 431, as a front proxy does;
# aiohttp itself answers 400 to any header line over 8190 bytes.
MAX_AUTHORIZATION = 4096


@dataclass
class Scenario:
    """What the sandbox does besides answering like sipgate.

    ``balance`` is in 1/10000 EUR as sipgate counts it; a call needs more than
    zero. ``server_error`` answers every API request with that 5xx status,
    ``rate_limit`` with 429 and that ``Retry-After``, ``drop_connection``
    closes the connection without an answer, and ``delay`` waits that many
    seconds before answering.
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
class SipgateSandbox:
    """The simulator: its state, its records and its aiohttp application."""

    scenario: Scenario = field(default_factory=Scenario)
    requests: list[RecordedRequest] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition, repr=False)

    def create_app(self) -> web.Application:
        """Return the aiohttp application that serves the sandbox."""
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/v2/authorization/userinfo", self._userinfo)
        app.router.add_get("/v2/{user_id}/devices", self._devices)
        app.router.add_post("/v2/sessions/calls", self._new_call)
        app.router.add_get("/_sandbox/requests", self._control_requests)
        app.router.add_delete("/_sandbox/requests", self._control_clear)
        app.router.add_get("/_sandbox/scenario", self._control_scenario)
        app.router.add_post("/_sandbox/scenario", self._control_scenario)
        app.router.add_post("/_sandbox/reset", self._control_reset)
        return app

    def reset(self) -> None:
        """Forget all requests and return to the default scenario."""
        self.scenario = Scenario()
        self.requests.clear()
        self.calls.clear()

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        """Return the recorded requests with this method and path."""
        return [r for r in self.requests if r.method == method and r.path == path]

    async def wait_for_requests(self, method: str, path: str, count: int) -> None:
        """Wait until ``count`` requests with this method and path arrived."""
        async with self._arrived:
            await self._arrived.wait_for(
                lambda: len(self.requests_to(method, path)) >= count
            )

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
        token = self._authenticate(request)
        user_id = request.match_info["user_id"]
        if not token.scopes & DEVICE_SCOPES or user_id != token.user:
            raise _http_error(403, "FORBIDDEN", "Missing scope devices:read")
        return web.json_response({"items": DEVICES[user_id]})

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
        """Return to the default scenario and forget all requests."""
        self.reset()
        return web.json_response(asdict(self.scenario))


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
