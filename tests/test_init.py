"""Tests of setting up and unloading a sipgate entry."""

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web
from aiohttp.test_utils import TestServer
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.sipgate.api import UserInfo
from custom_components.sipgate.const import CONF_BASE_URL, DOMAIN
from custom_components.sipgate.notifications import notification_id
from homeassistant.components import persistent_notification
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from sipgate_lab.sandbox import SipgateSandbox

from .conftest import entry_for


async def test_setup_and_unload(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A working token loads the entry; it unloads cleanly."""
    entry = init_integration
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.account == UserInfo(
        sub="w0", master_sip_id="1234567", domain="sipgate.de", locale="de_DE"
    )
    assert hass.services.has_service(DOMAIN, "initiate_call")
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert hass.services.has_service(DOMAIN, "initiate_call")


async def test_setup_auth_failed_starts_reauth(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, sandbox: SipgateSandbox
) -> None:
    """A 401 at setup fails the entry and asks for a new token."""
    sandbox.scenario.token_valid = False
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    assert mock_config_entry.reason == (
        "sipgate no longer accepts the token. Open Settings → Devices & services → "
        "sipgate and re-enter the token ID and token"
    )
    assert mock_config_entry.error_reason_translation_key == "auth_failed"
    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert flows[0]["context"]["entry_id"] == mock_config_entry.entry_id


@pytest.mark.parametrize(
    ("scenario", "reason"),
    [
        (
            {"server_error": 502},
            "sipgate answered GET /authorization/userinfo with 502",
        ),
        ({"rate_limit": 10}, "sipgate answered GET /authorization/userinfo with 429"),
        (
            {"drop_connection": True},
            (
                "No answer from sipgate to GET /authorization/userinfo: "
                "ServerDisconnectedError"
            ),
        ),
    ],
)
async def test_setup_not_ready(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    sandbox: SipgateSandbox,
    scenario: dict[str, object],
    reason: str,
) -> None:
    """An outage at setup retries later."""
    for name, value in scenario.items():
        setattr(sandbox.scenario, name, value)
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert mock_config_entry.reason == f"sipgate cannot be reached right now: {reason}"
    assert mock_config_entry.error_reason_translation_key == "setup_not_ready"


@dataclass
class CaptivePortal:
    """A server that answers with a web page until ``on`` is False."""

    url: str = ""
    on: bool = True


@pytest.fixture
async def captive_portal(socket_enabled: None) -> AsyncGenerator[CaptivePortal]:
    """Serve an HTML page instead of the API until switched off."""
    portal = CaptivePortal()

    async def userinfo(request: web.Request) -> web.Response:
        if portal.on:
            return web.Response(text="<html>Log in to the Wi-Fi</html>")
        return web.json_response({"sub": "w0", "masterSipId": "1234567"})

    async def balance(request: web.Request) -> web.Response:
        return web.json_response({"amount": 35000, "currency": "EUR"})

    app = web.Application()
    app.router.add_get("/v2/authorization/userinfo", userinfo)
    app.router.add_get("/v2/balance", balance)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    portal.url = str(server.make_url("/v2"))
    yield portal
    await server.close()


async def test_html_answer_at_setup_is_retried(
    hass: HomeAssistant, captive_portal: CaptivePortal
) -> None:
    """A captive portal's page at setup: retried, and it recovers by itself."""
    entry = entry_for(captive_portal.url)
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.reason == (
        "sipgate cannot be reached right now: sipgate answered GET "
        "/authorization/userinfo with a body that is not JSON"
    )
    captive_portal.on = False
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=2))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED


async def test_setup_error(hass: HomeAssistant, sandbox_url: str) -> None:
    """A wrong API address fails setup without a reauth flow."""
    entry = entry_for(f"{sandbox_url}/nope")
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.reason == (
        "sipgate refused the setup: sipgate answered GET /authorization/userinfo "
        "with 404"
    )
    assert entry.error_reason_translation_key == "setup_failed"
    assert not hass.config_entries.flow.async_progress()
    assert entry.data[CONF_BASE_URL].endswith("/nope")


async def test_remove_entry_dismisses_notification(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Removing the entry removes its failure notification."""
    entry_id = init_integration.entry_id
    persistent_notification.async_create(
        hass, "failed", "title", notification_id(entry_id)
    )
    await hass.config_entries.async_remove(entry_id)
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    assert f"sipgate_call_failed_{entry_id}" not in notifications


async def test_remove_entry_deletes_the_issue_about_pushes(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Removing the entry removes its repair issue about refused pushes."""
    issue_registry = ir.async_get(hass)
    issue_id = f"pushes_refused_{init_integration.entry_id}"
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key="pushes_refused",
    )
    await hass.config_entries.async_remove(init_integration.entry_id)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
