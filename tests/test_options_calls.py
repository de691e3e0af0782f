"""The options step "Incoming and outgoing calls" and the entry's webhook."""

from dataclasses import replace
import logging
import sys
import types
from typing import Any
from unittest.mock import AsyncMock, Mock, patch

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.sipgate.config_flow import SECTION_ADVANCED
from custom_components.sipgate.const import (
    CONF_CALLER_ID,
    CONF_CLOUDHOOK_URL,
    CONF_DEVICE_ID,
    CONF_PUSH_PUBLIC_KEY,
    DOMAIN,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from sipgate_lab import sandbox as sandbox_module
from sipgate_lab.sandbox import TOKEN_NO_DEVICES, SipgateSandbox

from .conftest import use_token
from .test_config_flow import form, open_options

EXTERNAL = "https://home.example.org"
SETTINGS = "/v2/settings/sipgateio"


@pytest.fixture
async def external_url(hass: HomeAssistant) -> str:
    """Give Home Assistant an external URL."""
    await hass.config.async_update(external_url=EXTERNAL)
    return EXTERNAL


def webhook_url(entry: MockConfigEntry) -> str:
    """Return the entry's webhook on the external URL."""
    return f"{EXTERNAL}/api/webhook/{entry.data[CONF_WEBHOOK_ID]}"


def calls_form(
    key: str, *, set_option: bool, set_suggested: bool | None = None
) -> list[dict[str, Any]]:
    """Return the calls step's fields."""
    fields: list[dict[str, Any]] = [
        {
            "name": SECTION_ADVANCED,
            "required": True,
            "type": "expandable",
            "expanded": False,
            "schema": [
                {
                    "name": CONF_PUSH_PUBLIC_KEY,
                    "required": False,
                    "optional": True,
                    "description": {"suggested_value": key},
                    "selector": {"text": {"multiline": True, "multiple": False}},
                }
            ],
        }
    ]
    if set_option:
        fields.append(
            {
                "name": "set_in_sipgate",
                "required": False,
                "optional": True,
                "default": False,
                "selector": {"boolean": {}},
            }
        )
        if set_suggested is not None:
            fields[-1]["description"] = {"suggested_value": set_suggested}
    return fields


@pytest.mark.usefixtures("external_url")
async def test_show_the_url_and_set_it_in_sipgate(
    hass: HomeAssistant, init_integration: MockConfigEntry, sandbox: SipgateSandbox
) -> None:
    """The URL is shown with sipgate's current ones, then set in sipgate."""
    sandbox.sipgateio["incomingUrl"] = "https://other.example.com/in"
    result = await open_options(hass, init_integration, "calls")
    assert result["step_id"] == "calls"
    assert result["description_placeholders"] == {
        "url": webhook_url(init_integration),
        "incoming_url": "https://other.example.com/in",
        "outgoing_url": "—",
    }
    assert form(result) == calls_form("", set_option=True)
    assert result["errors"] == {}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"set_in_sipgate": True, SECTION_ADVANCED: {}}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    (put,) = sandbox.requests_to("PUT", SETTINGS)
    assert put.json == {
        "incomingUrl": webhook_url(init_integration),
        "outgoingUrl": webhook_url(init_integration),
        "log": False,
        "whitelist": [],
    }
    # The default phone is kept.
    assert init_integration.options == {
        CONF_DEVICE_ID: "e0",
        CONF_CALLER_ID: "+49211999000",
    }


@pytest.mark.usefixtures("external_url")
async def test_key_of_the_pushes(
    hass: HomeAssistant, init_integration: MockConfigEntry, sandbox: SipgateSandbox
) -> None:
    """Another key is checked and stored; an empty field means sipgate's."""
    result = await open_options(hass, init_integration, "calls")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "set_in_sipgate": False,
            SECTION_ADVANCED: {CONF_PUSH_PUBLIC_KEY: "not a key"},
        },
    )
    assert result["errors"] == {"base": "invalid_public_key"}
    assert form(result) == calls_form("not a key", set_option=True, set_suggested=False)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            SECTION_ADVANCED: {
                CONF_PUSH_PUBLIC_KEY: f"\n{sandbox.push_public_key_pem}\n"
            }
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert init_integration.options[CONF_PUSH_PUBLIC_KEY] == (
        sandbox.push_public_key_pem.strip()
    )
    assert not sandbox.requests_to("PUT", SETTINGS)
    result = await open_options(hass, init_integration, "calls")
    assert form(result) == calls_form(
        sandbox.push_public_key_pem.strip(), set_option=True
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {SECTION_ADVANCED: {CONF_PUSH_PUBLIC_KEY: " "}}
    )
    assert CONF_PUSH_PUBLIC_KEY not in init_integration.options


@pytest.mark.usefixtures("external_url")
@pytest.mark.parametrize(
    ("scenario", "status"),
    [({"server_error": 503}, 503), ({"token_valid": False}, 401)],
)
async def test_setting_it_in_sipgate_fails(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    sandbox: SipgateSandbox,
    caplog: pytest.LogCaptureFixture,
    scenario: dict[str, Any],
    status: int,
) -> None:
    """Sipgate fails to store the URL: a form error, nothing stored."""
    caplog.set_level(logging.DEBUG, "custom_components.sipgate")
    result = await open_options(hass, init_integration, "calls")
    for name, value in scenario.items():
        setattr(sandbox.scenario, name, value)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"set_in_sipgate": True, SECTION_ADVANCED: {}}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    assert (
        "custom_components.sipgate",
        logging.DEBUG,
        (
            "sipgate did not store the sipgate.io settings: sipgate answered "
            f"PUT /settings/sipgateio with {status}"
        ),
    ) in caplog.record_tuples


@pytest.mark.usefixtures("external_url")
async def test_sipgate_has_no_addresses_yet(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Addresses sipgate does not have are shown as a dash."""
    result = await open_options(hass, init_integration, "calls")
    placeholders = result["description_placeholders"]
    assert (placeholders["incoming_url"], placeholders["outgoing_url"]) == ("—", "—")


@pytest.mark.usefixtures("external_url")
async def test_setting_it_is_forbidden(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    sandbox: SipgateSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """403 on storing (sipgate.io not booked, or no write scope): a form error."""
    result = await open_options(hass, init_integration, "calls")
    monkeypatch.setattr(
        sandbox_module,
        "TOKEN",
        replace(sandbox_module.TOKEN, scopes=frozenset({"settings:sipgateio:read"})),
    )
    monkeypatch.setattr(sandbox_module, "TOKENS", (sandbox_module.TOKEN,))
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"set_in_sipgate": True, SECTION_ADVANCED: {}}
    )
    assert result["errors"] == {"base": "sipgateio_forbidden"}


@pytest.mark.usefixtures("external_url")
async def test_without_the_settings_scopes(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    sandbox: SipgateSandbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The token may not read sipgate's settings: the URL, to enter by hand."""
    mock_config_entry.add_to_hass(hass)
    use_token(hass, mock_config_entry, TOKEN_NO_DEVICES)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    caplog.set_level(logging.DEBUG, "custom_components.sipgate")
    result = await open_options(hass, mock_config_entry, "calls", balance=False)
    assert (
        "custom_components.sipgate",
        logging.DEBUG,
        (
            "sipgate did not show the sipgate.io settings: sipgate answered "
            "GET /settings/sipgateio with 403"
        ),
    ) in caplog.record_tuples
    assert result["step_id"] == "calls_manual"
    assert result["description_placeholders"] == {"url": webhook_url(mock_config_entry)}
    assert form(result) == calls_form("", set_option=False)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {SECTION_ADVANCED: {}}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert not sandbox.requests_to("PUT", SETTINGS)


@pytest.mark.usefixtures("external_url")
async def test_entry_not_loaded(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, sandbox: SipgateSandbox
) -> None:
    """Not loaded: the URL is still shown, to enter by hand."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        data={**mock_config_entry.data, CONF_WEBHOOK_ID: "1" * 64},
    )
    assert mock_config_entry.state is ConfigEntryState.NOT_LOADED
    result = await open_options(hass, mock_config_entry, "calls")
    assert result["step_id"] == "calls_manual"
    assert result["description_placeholders"] == {
        "url": f"{EXTERNAL}/api/webhook/{'1' * 64}"
    }


async def test_an_address_without_https_is_warned_about(
    hass: HomeAssistant, init_integration: MockConfigEntry, sandbox: SipgateSandbox
) -> None:
    """The step warns that sipgate pushes to HTTPS only, and still saves."""
    await hass.config.async_update(external_url="http://home.example.org:8123")
    result = await open_options(hass, init_integration, "calls")
    assert result["errors"] == {"base": "not_https"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"set_in_sipgate": True, SECTION_ADVANCED: {}}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    (put,) = sandbox.requests_to("PUT", SETTINGS)
    assert put.json["incomingUrl"].startswith("http://home.example.org:8123/")


async def test_an_address_without_https_to_enter_by_hand(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """The warning comes with the form to enter the address by hand too."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        data={**mock_config_entry.data, CONF_WEBHOOK_ID: "1" * 64},
    )
    await hass.config.async_update(external_url="http://home.example.org:8123")
    result = await open_options(hass, mock_config_entry, "calls")
    assert result["step_id"] == "calls_manual"
    assert result["errors"] == {"base": "not_https"}


async def test_no_address_sipgate_could_reach(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Without an external URL or Cloud there is nothing to show."""
    result = await open_options(hass, init_integration, "calls")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_public_url"


class CloudNotConnected(HomeAssistantError):  # noqa: N818 - Home Assistant's name
    """Home Assistant Cloud's error when it is subscribed but offline."""


@pytest.fixture
def cloud(hass: HomeAssistant) -> Any:
    """Pretend Home Assistant Cloud is set up and subscribed.

    The real cloud component cannot be imported in the test stacks (it pulls
    in the voice assistant's packages); this stands in for the three
    functions the integration uses, with the signatures of Home Assistant's.
    """
    hass.config.components.add("cloud")
    module = types.ModuleType("homeassistant.components.cloud")
    module.async_active_subscription = Mock(return_value=True)  # type: ignore[attr-defined]
    module.async_get_or_create_cloudhook = AsyncMock(  # type: ignore[attr-defined]
        return_value="https://hooks.nabu.casa/secret"
    )
    module.async_delete_cloudhook = AsyncMock()  # type: ignore[attr-defined]
    with patch.dict(sys.modules, {"homeassistant.components.cloud": module}):
        yield module.async_get_or_create_cloudhook, module.async_delete_cloudhook


async def test_cloud_webhook(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    sandbox: SipgateSandbox,
    cloud: Any,
) -> None:
    """With Cloud the URL is a cloud webhook, made once, removed with the entry."""
    create, delete = cloud
    result = await open_options(hass, init_integration, "calls")
    assert result["description_placeholders"]["url"] == "https://hooks.nabu.casa/secret"
    cloud_module = sys.modules["homeassistant.components.cloud"]
    cloud_module.async_active_subscription.assert_called_once_with(hass)  # type: ignore[attr-defined]
    create.assert_awaited_once_with(hass, init_integration.data[CONF_WEBHOOK_ID])
    assert init_integration.data[CONF_CLOUDHOOK_URL] == "https://hooks.nabu.casa/secret"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"set_in_sipgate": True, SECTION_ADVANCED: {}}
    )
    assert sandbox.requests_to("PUT", SETTINGS)[0].json["incomingUrl"] == (
        "https://hooks.nabu.casa/secret"
    )
    result = await open_options(hass, init_integration, "calls")
    assert create.await_count == 1
    await hass.config_entries.async_remove(init_integration.entry_id)
    delete.assert_awaited_once_with(hass, init_integration.data[CONF_WEBHOOK_ID])


async def test_cloud_not_connected(
    hass: HomeAssistant, init_integration: MockConfigEntry, cloud: Any
) -> None:
    """Cloud subscribed but offline: the step says so."""
    create, _ = cloud
    create.side_effect = CloudNotConnected
    result = await open_options(hass, init_integration, "calls")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "cloud_not_connected"
    assert CONF_CLOUDHOOK_URL not in init_integration.data


async def test_removing_the_cloud_webhook_fails(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    cloud: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The entry goes even when Cloud cannot remove its webhook."""
    _, delete = cloud
    await open_options(hass, init_integration, "calls")
    delete.side_effect = CloudNotConnected
    await hass.config_entries.async_remove(init_integration.entry_id)
    (warning,) = [r for r in caplog.records if "cloud webhook" in r.getMessage()]
    assert warning.getMessage() == (
        "Could not delete the cloud webhook of sipgate 1234567w0: "
        f"{CloudNotConnected()}"
    )
    assert "hooks.nabu.casa" not in caplog.text


async def test_removing_without_a_cloud_webhook(
    hass: HomeAssistant, init_integration: MockConfigEntry, cloud: Any
) -> None:
    """With Cloud set up but no cloud webhook made, none is deleted."""
    _, delete = cloud
    await hass.config_entries.async_remove(init_integration.entry_id)
    delete.assert_not_awaited()


async def test_old_entries_get_a_webhook(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Entries of 1.1 get a webhook id of their own when they load (1.2)."""
    assert mock_config_entry.minor_version == 1
    assert CONF_WEBHOOK_ID not in mock_config_entry.data
    mock_config_entry.add_to_hass(hass)
    caplog.set_level(logging.DEBUG, "custom_components.sipgate")
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.minor_version == 2
    assert len(mock_config_entry.data[CONF_WEBHOOK_ID]) == 64
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert (
        "custom_components.sipgate",
        logging.DEBUG,
        "Gave the sipgate entry sipgate 1234567w0 a webhook",
    ) in caplog.record_tuples


async def test_newer_entries_are_not_loaded(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """An entry of a later major version is left alone."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=2,
        data=dict(mock_config_entry.data),
        options=dict(mock_config_entry.options),
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.MIGRATION_ERROR


async def test_entries_of_a_later_minor_version_load(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """A later minor version of the same major one is taken as it is."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        minor_version=3,
        data={**mock_config_entry.data, CONF_WEBHOOK_ID: "2" * 64},
        options=dict(mock_config_entry.options),
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.LOADED
    assert (entry.minor_version, entry.data[CONF_WEBHOOK_ID]) == (3, "2" * 64)


@pytest.mark.usefixtures("external_url")
async def test_cloud_without_subscription(
    hass: HomeAssistant, init_integration: MockConfigEntry, cloud: Any
) -> None:
    """Cloud set up but not subscribed: the external URL, no cloud webhook."""
    create, _ = cloud
    sys.modules[
        "homeassistant.components.cloud"
    ].async_active_subscription.return_value = False
    result = await open_options(hass, init_integration, "calls")
    assert result["description_placeholders"]["url"] == webhook_url(init_integration)
    create.assert_not_awaited()
