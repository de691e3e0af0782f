"""Fixtures of the sipgate test suite."""

from collections.abc import AsyncGenerator, Awaitable, Callable
from pathlib import Path
import sys
from typing import Any

# pytest-homeassistant-custom-component ships a `custom_components` package of
# its own; this repository's must be found first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

import custom_components
from custom_components.sipgate.const import (
    CONF_BASE_URL,
    CONF_CALLER_ID,
    CONF_DEVICE_ID,
    CONF_PUSH_PUBLIC_KEY,
    CONF_TOKEN_ID,
    DOMAIN,
)
from homeassistant.const import CONF_TOKEN, CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant
from sipgate_lab.sandbox import MASTER_SIP_ID, TOKEN, SandboxToken, SipgateSandbox

assert Path(custom_components.__file__).parent.parent == Path(__file__).parents[1]

# The end-to-end suite needs a real Home Assistant and a browser, outside this
# environment: scripts/e2e runs it.
collect_ignore = ["e2e"]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load the integration from this repository."""


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Return syrupy's snapshot with Home Assistant's extension (snapshots/)."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
def sandbox() -> SipgateSandbox:
    """Return the state of a fresh sipgate sandbox."""
    return SipgateSandbox()


@pytest.fixture
async def sandbox_url(
    sandbox: SipgateSandbox, socket_enabled: None
) -> AsyncGenerator[str]:
    """Serve the sandbox on loopback and return its API base URL."""
    server = TestServer(sandbox.create_app(), host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("/v2"))
    await server.close()


@pytest.fixture
def entry_data(sandbox_url: str) -> dict[str, Any]:
    """Return the data of an entry that talks to the sandbox."""
    return {
        CONF_TOKEN_ID: TOKEN.token_id,
        CONF_TOKEN: TOKEN.token,
        CONF_BASE_URL: sandbox_url,
    }


def entry_for(base_url: str) -> MockConfigEntry:
    """Return a sipgate entry of the sandbox's user w0 and phone e0."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"sipgate {MASTER_SIP_ID}w0",
        unique_id=f"{MASTER_SIP_ID}w0",
        data={
            CONF_TOKEN_ID: TOKEN.token_id,
            CONF_TOKEN: TOKEN.token,
            CONF_BASE_URL: base_url,
        },
        options={CONF_DEVICE_ID: "e0", CONF_CALLER_ID: "+49211999000"},
    )


@pytest.fixture
def mock_config_entry(sandbox_url: str) -> MockConfigEntry:
    """Return a sipgate entry for the sandbox's user w0 and phone e0."""
    return entry_for(sandbox_url)


@pytest.fixture
async def push_entry(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, sandbox: SipgateSandbox
) -> MockConfigEntry:
    """Set up a sipgate entry that verifies pushes with the sandbox's key."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        options={
            **mock_config_entry.options,
            CONF_PUSH_PUBLIC_KEY: sandbox.push_public_key_pem,
        },
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry


@pytest.fixture
async def push_url(
    hass: HomeAssistant,
    push_entry: MockConfigEntry,
    hass_client_no_auth: Callable[[], Awaitable[TestClient]],
) -> str:
    """Serve Home Assistant on loopback as its external URL; the webhook URL."""
    client = await hass_client_no_auth()
    base = str(client.make_url("/")).rstrip("/")
    await hass.config.async_update(external_url=base)
    return f"{base}/api/webhook/{push_entry.data[CONF_WEBHOOK_ID]}"


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> MockConfigEntry:
    """Set up the sipgate entry against the sandbox."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry


@pytest.fixture
async def second_entry(
    hass: HomeAssistant, entry_data: dict[str, str]
) -> MockConfigEntry:
    """Set up a second sipgate account (phone y0) beside the first."""
    other = MockConfigEntry(
        domain=DOMAIN,
        title="sipgate 1234567w9",
        unique_id="1234567w9",
        data=entry_data,
        options={CONF_DEVICE_ID: "y0", CONF_CALLER_ID: "+49211888000"},
    )
    other.add_to_hass(hass)
    assert await hass.config_entries.async_setup(other.entry_id)
    return other


def use_token(hass: HomeAssistant, entry: MockConfigEntry, token: SandboxToken) -> None:
    """Give the entry another sandbox token (with other scopes or user)."""
    hass.config_entries.async_update_entry(
        entry,
        data={**entry.data, CONF_TOKEN_ID: token.token_id, CONF_TOKEN: token.token},
    )


type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
type StandInEntry = Callable[[dict[str, Handler]], Awaitable[MockConfigEntry]]


@pytest.fixture
async def stand_in_entry(
    hass: HomeAssistant, socket_enabled: None
) -> AsyncGenerator[StandInEntry]:
    """Return entries set up against small stand-ins of sipgate on loopback.

    Each stand-in answers the userinfo of the sandbox's user w0, a balance of
    3.50 EUR and the routes given, such as ``{"POST /v2/sessions/calls":
    handler}``, which may replace the first two. For answers the sandbox does
    not give.
    """
    servers: list[TestServer] = []

    async def userinfo(request: web.Request) -> web.Response:
        return web.json_response({"sub": "w0", "masterSipId": MASTER_SIP_ID})

    async def balance(request: web.Request) -> web.Response:
        return web.json_response({"amount": 35000, "currency": "EUR"})

    async def make(routes: dict[str, Handler]) -> MockConfigEntry:
        app = web.Application()
        all_routes = {
            "GET /v2/authorization/userinfo": userinfo,
            "GET /v2/balance": balance,
            **routes,
        }
        for route, handler in all_routes.items():
            method, path = route.split(" ")
            app.router.add_route(method, path, handler)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        entry = entry_for(str(server.make_url("/v2")))
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        return entry

    yield make
    for server in servers:
        await server.close()
