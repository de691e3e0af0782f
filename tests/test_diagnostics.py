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
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from sipgate_lab.sandbox import TOKEN, SipgateSandbox


async def call(hass: HomeAssistant, callee: str = "+49211123456") -> None:
    """Perform sipgate.initiate_call."""
    await hass.services.async_call(
        DOMAIN, "initiate_call", {"callee": callee}, blocking=True
    )


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    sandbox: SipgateSandbox,
    sandbox_url: str,
    snapshot: SnapshotAssertion,
) -> None:
    """Diagnostics show settings, account and calls, never the token."""
    await call(hass)
    await call(hass)
    with pytest.raises(HomeAssistantError):
        await call(hass, "nope")
    sandbox.scenario.balance = 0
    for _ in range(2):
        with pytest.raises(HomeAssistantError):
            await call(hass)
    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, init_integration
    )
    # The sandbox's port changes from run to run.
    assert diagnostics["data"]["base_url"] == sandbox_url
    diagnostics["data"]["base_url"] = "http://127.0.0.1:<port>/v2"
    assert diagnostics == snapshot
    dump = json.dumps(diagnostics)
    assert TOKEN.token not in dump
    assert TOKEN.token_id not in dump
