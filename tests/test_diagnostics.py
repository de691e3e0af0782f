"""Tests of the sipgate diagnostics."""

import json

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.sipgate.const import DOMAIN
from homeassistant.const import CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.setup import async_setup_component
from sipgate_lab.sandbox import TOKEN, SipgateSandbox


async def call(hass: HomeAssistant, callee: str = "+49211123456") -> None:
    """Perform sipgate.initiate_call."""
    await hass.services.async_call(
        DOMAIN, "initiate_call", {"callee": callee}, blocking=True
    )


@pytest.fixture
async def diagnostics_loaded(hass: HomeAssistant) -> None:
    """Set up diagnostics before the HTTP server starts (its routes freeze)."""
    assert await async_setup_component(hass, "diagnostics", {})


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    diagnostics_loaded: None,
    push_entry: MockConfigEntry,
    push_url: str,
    sandbox: SipgateSandbox,
    sandbox_url: str,
    snapshot: SnapshotAssertion,
) -> None:
    """Settings, account, requests, pushes and calls; never a secret."""
    simulated = await sandbox.simulate_call(push_url, hangup="on_delete")
    await sandbox.send_push(push_url, [("event", "newCall")], signature="QUJD")
    await hass.async_block_till_done(wait_background_tasks=True)
    await call(hass)
    await call(hass)
    with pytest.raises(HomeAssistantError):
        await call(hass, "nope")
    sandbox.scenario.balance = 0
    for _ in range(2):
        with pytest.raises(HomeAssistantError):
            await call(hass)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, push_entry)
    # The sandbox's port changes from run to run.
    assert diagnostics["data"]["base_url"] == sandbox_url
    diagnostics["data"]["base_url"] = "http://127.0.0.1:<port>/v2"
    assert diagnostics == snapshot
    dump = json.dumps(diagnostics)
    for secret in (
        TOKEN.token,
        TOKEN.token_id,
        push_entry.data[CONF_WEBHOOK_ID],
        push_url,
        simulated.call_id,
    ):
        assert secret not in dump


async def test_diagnostics_with_sipgates_key(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
) -> None:
    """Without another key in the options, the options are shown as they are."""
    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, init_integration
    )
    assert diagnostics["options"] == {"device_id": "e0", "caller_id": "+49211999000"}
    assert diagnostics["pushes"] == {
        "verified": 0,
        "refused": 0,
        "refused_in_a_row": 0,
        "replays": 0,
    }
