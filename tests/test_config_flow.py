"""Tests of the sipgate config and options flows against the sandbox."""

import logging
import re
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.test_util.aiohttp import AiohttpClientMocker

from custom_components.sipgate.api import DEFAULT_BASE_URL, SipgateClient
from custom_components.sipgate.config_flow import SECTION_ADVANCED
from custom_components.sipgate.const import (
    CONF_BASE_URL,
    CONF_CALLER_ID,
    CONF_DEVICE_ID,
    CONF_TOKEN_ID,
    DOMAIN,
)
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_TOKEN, CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.data_entry_flow import _BaseFlowManagerView
from sipgate_lab.sandbox import (
    SMS_EXTENSIONS,
    TOKEN,
    TOKEN_NO_DEVICES,
    TOKEN_OTHER_USER,
    SandboxToken,
    SipgateSandbox,
)

TEXT = {"multiline": False, "multiple": False}
LOGGER = "custom_components.sipgate"
UNEXPECTED = (
    LOGGER,
    logging.ERROR,
    "Unexpected error while checking the sipgate token",
)
DEVICE_OPTIONS = [
    {"value": "e0", "label": "VoIP-Telefon von Erika Mustermann (e0, VoIP)"},
    {"value": "y0", "label": "Handy von Erika Mustermann (y0, mobile)"},
    {"value": "x0", "label": "Büro-Festnetz (x0, external)"},
    {"value": "p0", "label": "Erika Mustermann (p0, phoneline)"},
]


def form(result: Any) -> list[dict[str, Any]]:
    """Return a form's fields as Home Assistant sends them to the frontend."""
    assert result["type"] is FlowResultType.FORM
    fields: list[dict[str, Any]] = _BaseFlowManagerView(
        None  # type: ignore[arg-type]
    )._prepare_result_json(result)["data_schema"]
    return fields


def user_form(
    base_url: dict[str, Any], token_id: dict[str, Any], token: dict[str, Any]
) -> list[dict[str, Any]]:
    """Return the user step's fields with these extras (suggested values)."""
    return [
        {"name": CONF_TOKEN_ID, "required": True, "selector": {"text": TEXT}}
        | token_id,
        {
            "name": CONF_TOKEN,
            "required": True,
            "selector": {"text": {"type": "password", **TEXT}},
        }
        | token,
        {
            "name": SECTION_ADVANCED,
            "required": True,
            "type": "expandable",
            "expanded": False,
            "schema": [
                {
                    "name": CONF_BASE_URL,
                    "required": True,
                    "default": DEFAULT_BASE_URL,
                    "selector": {"text": {"type": "url", **TEXT}},
                }
                | base_url
            ],
        },
    ]


def device_form(
    options: list[dict[str, str]] | None, suggested: dict[str, str]
) -> list[dict[str, Any]]:
    """Return the device step's fields: a dropdown with typing, or a text field."""
    selector: dict[str, Any] = {"text": TEXT}
    if options is not None:
        selector = {
            "select": {
                "options": options,
                "mode": "dropdown",
                "custom_value": False,
                "multiple": False,
                "sort": False,
            }
        }
    fields: list[dict[str, Any]] = [
        {"name": CONF_DEVICE_ID, "required": True, "selector": selector},
        {
            "name": CONF_CALLER_ID,
            "required": False,
            "optional": True,
            "selector": {"text": {"type": "tel", **TEXT}},
        },
    ]
    for field in fields:
        if field["name"] in suggested:
            field["description"] = {"suggested_value": suggested[field["name"]]}
    return fields


def credentials(token: SandboxToken = TOKEN) -> dict[str, str]:
    """Return the credentials of a sandbox token as a form takes them."""
    return {CONF_TOKEN_ID: token.token_id, CONF_TOKEN: token.token}


def user_input(base_url: str, token: SandboxToken = TOKEN) -> dict[str, Any]:
    """Return the user step's input: a token and the API address."""
    return {**credentials(token), SECTION_ADVANCED: {CONF_BASE_URL: base_url}}


async def start(hass: HomeAssistant) -> dict[str, Any]:
    """Start the flow as a user does."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    return dict(result)


async def test_full_flow_with_device_list(
    hass: HomeAssistant, sandbox_url: str, sandbox: SipgateSandbox
) -> None:
    """Token, then a dropdown of the account's devices, then the entry."""
    result = await start(hass)
    assert form(result) == user_form({}, {}, {})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(f" {sandbox_url}/ ")
    )
    assert result["step_id"] == "device"
    assert result["errors"] == {}
    assert result["description_placeholders"] == {"account": "1234567w0"}
    assert form(result) == device_form(DEVICE_OPTIONS, {})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_DEVICE_ID: "y0", CONF_CALLER_ID: "+49 211 999-000"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "sipgate 1234567w0"
    webhook_id = result["data"].pop(CONF_WEBHOOK_ID)
    assert re.fullmatch(r"[0-9a-f]{64}", webhook_id)
    assert result["data"] == {
        CONF_TOKEN_ID: TOKEN.token_id,
        CONF_TOKEN: TOKEN.token,
        CONF_BASE_URL: sandbox_url,
    }
    assert result["options"] == {CONF_DEVICE_ID: "y0", CONF_CALLER_ID: "+49211999000"}
    assert result["result"].unique_id == "1234567w0"
    # The check, then the setup of the new entry.
    assert [r.path for r in sandbox.requests] == [
        "/v2/authorization/userinfo",
        "/v2/w0/devices",
        "/v2/authorization/userinfo",
        "/v2/balance",
    ]
    assert result["result"].state is ConfigEntryState.LOADED


async def test_phoneline_in_device_list(hass: HomeAssistant, sandbox_url: str) -> None:
    """The phoneline p0, which is not a device, can be picked from the list."""
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(sandbox_url)
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_DEVICE_ID: "p0"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["options"] == {CONF_DEVICE_ID: "p0"}


async def test_flow_without_devices_scope(
    hass: HomeAssistant, sandbox_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Without devices:read the extension is typed; bad input is refused."""
    caplog.set_level(logging.DEBUG, LOGGER)
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(sandbox_url, TOKEN_NO_DEVICES)
    )
    assert result["step_id"] == "device"
    assert (
        LOGGER,
        logging.DEBUG,
        "The token may not list devices (devices:read)",
    ) in caplog.record_tuples
    assert form(result) == device_form(None, {})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_DEVICE_ID: "phone", CONF_CALLER_ID: "call me"}
    )
    assert result["errors"] == {
        CONF_DEVICE_ID: "invalid_device",
        CONF_CALLER_ID: "invalid_caller_id",
    }
    assert form(result) == device_form(
        None, {CONF_DEVICE_ID: "phone", CONF_CALLER_ID: "call me"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_DEVICE_ID: " E0 ", CONF_CALLER_ID: " "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["options"] == {CONF_DEVICE_ID: "e0"}


async def test_default_base_url(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """The API address is sipgate's unless the user changes it."""
    aioclient_mock.get(
        f"{DEFAULT_BASE_URL}/authorization/userinfo",
        json={
            "sub": "w0",
            "masterSipId": "7654321",
            "domain": "sipgate.de",
            "locale": "de_DE",
        },
    )
    aioclient_mock.get(
        f"{DEFAULT_BASE_URL}/w0/devices",
        json={"items": [{"id": "e5", "alias": "Web Phone", "type": "WEBPHONE"}]},
    )
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**credentials(), SECTION_ADVANCED: {}}
    )
    # A device type the integration does not know is shown as sipgate names it.
    assert form(result) == device_form(
        [{"value": "e5", "label": "Web Phone (e5, WEBPHONE)"}], {}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_DEVICE_ID: "e5"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_BASE_URL] == DEFAULT_BASE_URL
    assert result["result"].unique_id == "7654321w0"


@pytest.mark.parametrize(
    ("scenario", "token", "error"),
    [
        ({"token_valid": False}, TOKEN, "invalid_auth"),
        ({"server_error": 503}, TOKEN, "cannot_connect"),
        ({"rate_limit": 5}, TOKEN, "cannot_connect"),
        ({"drop_connection": True}, TOKEN, "cannot_connect"),
        (
            {},
            SandboxToken("token-WRONG0", TOKEN.token, "w0", frozenset()),
            "invalid_auth",
        ),
        # Too long to be a token: the sandbox answers 431, aiohttp 400.
        (
            {},
            SandboxToken("token-SANDB0", "x" * 5000, "w0", frozenset()),
            "invalid_auth",
        ),
        (
            {},
            SandboxToken("token-SANDB0", "x" * 9000, "w0", frozenset()),
            "invalid_auth",
        ),
    ],
)
async def test_user_errors_recover(
    hass: HomeAssistant,
    sandbox_url: str,
    sandbox: SipgateSandbox,
    scenario: dict[str, Any],
    token: SandboxToken,
    error: str,
) -> None:
    """Every failure shows an error, keeps the input, and the flow recovers."""
    for name, value in scenario.items():
        setattr(sandbox.scenario, name, value)
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(sandbox_url, token)
    )
    assert result["step_id"] == "user"
    assert result["errors"] == {"base": error}
    assert form(result) == user_form(
        {"description": {"suggested_value": sandbox_url}},
        {"description": {"suggested_value": token.token_id}},
        {"description": {"suggested_value": token.token}},
    )
    assert not hass.config_entries.async_entries(DOMAIN)
    sandbox.reset()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(sandbox_url)
    )
    assert result["step_id"] == "device"


@pytest.mark.parametrize(
    ("path", "error"),
    [("/v9", "api_not_found"), ("/v2/authorization/userinfo", "api_not_found")],
)
async def test_reachable_but_wrong_address(
    hass: HomeAssistant,
    sandbox_url: str,
    caplog: pytest.LogCaptureFixture,
    path: str,
    error: str,
) -> None:
    """A path where the API is not answers 404: a form error, no traceback."""
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(sandbox_url.replace("/v2", path))
    )
    assert result["errors"] == {"base": error}
    assert "Traceback" not in caplog.text


async def test_answer_that_is_not_the_api(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """A web page instead of the API (a captive portal, a web site)."""
    aioclient_mock.get(
        "https://www.sipgate.de/authorization/userinfo",
        text="<html>sipgate</html>",
        headers={"Content-Type": "text/html"},
    )
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input("https://www.sipgate.de")
    )
    assert result["errors"] == {"base": "api_not_found"}


@pytest.mark.parametrize(
    "base_url",
    [
        "ftp://api.sipgate.com",
        "not a url",
        "http://api.sipgate.com/v2",
        "https://user:password@api.sipgate.com/v2",
        "http://169.254.169.254/latest/meta-data",
        "http://[fd00:ec2::254]/latest/meta-data",
    ],
)
async def test_refused_base_url(
    hass: HomeAssistant, sandbox_url: str, sandbox: SipgateSandbox, base_url: str
) -> None:
    """Addresses the token must not go to are refused without a request."""
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(base_url)
    )
    assert result["errors"] == {"base": "invalid_base_url"}
    assert sandbox.requests == []
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(sandbox_url)
    )
    assert result["step_id"] == "device"


@pytest.mark.parametrize(
    ("token_id", "token"),
    [
        (" ", TOKEN.token),
        (TOKEN.token_id, "\t"),
        ("\ud800", TOKEN.token),
        (TOKEN.token_id, "\udfff"),
        ("token-ÄBC123", TOKEN.token),
    ],
)
async def test_refused_credentials(
    hass: HomeAssistant,
    sandbox_url: str,
    sandbox: SipgateSandbox,
    token_id: str,
    token: str,
) -> None:
    """Blank or non-ASCII credentials are refused without a request."""
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_TOKEN_ID: token_id,
            CONF_TOKEN: token,
            SECTION_ADVANCED: {CONF_BASE_URL: sandbox_url},
        },
    )
    assert result["errors"] == {"base": "invalid_credentials"}
    assert sandbox.requests == []


async def test_unexpected_error_recovers(
    hass: HomeAssistant,
    sandbox_url: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bug in the client is an unknown error, logged without the token."""

    async def broken(self: SipgateClient) -> None:
        raise RuntimeError("bug")

    with monkeypatch.context() as patch:
        patch.setattr(SipgateClient, "async_get_userinfo", broken)
        result = await start(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], user_input(sandbox_url)
        )
    assert result["errors"] == {"base": "unknown"}
    assert UNEXPECTED in caplog.record_tuples
    assert TOKEN.token not in caplog.text
    assert TOKEN.token_id not in caplog.text
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(sandbox_url)
    )
    assert result["step_id"] == "device"


async def test_already_configured(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, sandbox_url: str
) -> None:
    """The same sipgate user cannot be added twice."""
    mock_config_entry.add_to_hass(hass)
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(sandbox_url)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def open_options(
    hass: HomeAssistant, entry: MockConfigEntry, step: str, *, balance: bool = True
) -> dict[str, Any]:
    """Open the options and pick a step from their menu.

    ``balance`` says whether the token may read the balance: without, the
    menu explains how.
    """
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["phone", "sms", "calls"] + (
        [] if balance else ["balance"]
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": step}
    )
    return dict(result)


def reauth_form() -> list[dict[str, Any]]:
    """Return the reauth step's fields."""
    return user_form({}, {}, {})[:2]


async def test_reauth(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, sandbox: SipgateSandbox
) -> None:
    """Reauth takes a new token of the same user, after a wrong one."""
    mock_config_entry.add_to_hass(hass)
    result = await mock_config_entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    assert result["description_placeholders"]["account"] == "sipgate 1234567w0"
    assert form(result) == reauth_form()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TOKEN_ID: TOKEN.token_id, CONF_TOKEN: "wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    assert form(result) == reauth_form()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TOKEN_ID: TOKEN.token_id, CONF_TOKEN: " "}
    )
    assert result["errors"] == {"base": "invalid_credentials"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials(TOKEN_NO_DEVICES)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    # The integration's own text, not Home Assistant's generic one.
    assert result.get("translation_domain") is None
    assert mock_config_entry.data[CONF_TOKEN_ID] == TOKEN_NO_DEVICES.token_id
    assert mock_config_entry.data[CONF_TOKEN] == TOKEN_NO_DEVICES.token
    assert "/v2/w0/devices" not in [r.path for r in sandbox.requests]
    # An entry that was not loaded is set up with the new token.
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED


async def test_reauth_errors(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    sandbox: SipgateSandbox,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Reauth shows connection problems and bugs as form errors."""
    mock_config_entry.add_to_hass(hass)
    result = await mock_config_entry.start_reauth_flow(hass)
    sandbox.scenario.server_error = 502
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials()
    )
    assert result["errors"] == {"base": "cannot_connect"}

    async def broken(self: SipgateClient) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(SipgateClient, "async_get_userinfo", broken)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials()
    )
    assert result["errors"] == {"base": "unknown"}
    assert UNEXPECTED in caplog.record_tuples


async def test_reauth_other_account(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """A token of another sipgate user is refused and changes nothing."""
    mock_config_entry.add_to_hass(hass)
    result = await mock_config_entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials(TOKEN_OTHER_USER)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert mock_config_entry.data[CONF_TOKEN_ID] == TOKEN.token_id


def reconfigure_input(base_url: str, **credentials: str) -> dict[str, Any]:
    """Return the reconfigure step's input; missing credentials stay empty."""
    return {**credentials, SECTION_ADVANCED: {CONF_BASE_URL: base_url}}


def reconfigure_form(base_url: str, **suggested: str) -> list[dict[str, Any]]:
    """Return the reconfigure step's fields: optional token, the address."""
    token_id, token, advanced = user_form(
        {"description": {"suggested_value": base_url}}, {}, {}
    )
    for field in (token_id, token):
        field.update(required=False, optional=True)
        if field["name"] in suggested:
            field["description"] = {"suggested_value": suggested[field["name"]]}
    return [token_id, token, advanced]


async def test_reconfigure_keeps_token_changes_device(
    hass: HomeAssistant, init_integration: MockConfigEntry, sandbox_url: str
) -> None:
    """Empty token fields keep the token; the device and caller ID change."""
    result = await init_integration.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    assert result["description_placeholders"] == {"account": "sipgate 1234567w0"}
    assert form(result) == reconfigure_form(sandbox_url)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], reconfigure_input(sandbox_url, token_id=" ")
    )
    assert result["step_id"] == "device"
    assert form(result) == device_form(
        DEVICE_OPTIONS, {CONF_DEVICE_ID: "e0", CONF_CALLER_ID: "+49211999000"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_DEVICE_ID: "x0"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert result.get("translation_domain") is None
    await hass.async_block_till_done()
    assert init_integration.data[CONF_TOKEN] == TOKEN.token
    assert init_integration.options == {CONF_DEVICE_ID: "x0"}
    assert init_integration.state is ConfigEntryState.LOADED


async def test_reconfigure_new_token_and_address(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    sandbox_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A new token of the same user replaces the old one; errors recover."""
    webhook_id = init_integration.data[CONF_WEBHOOK_ID]
    runtime = init_integration.runtime_data
    result = await init_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], reconfigure_input("not a url")
    )
    assert result["errors"] == {"base": "invalid_base_url"}
    assert form(result) == reconfigure_form("not a url")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], reconfigure_input(sandbox_url, token="wrong")
    )
    assert result["errors"] == {"base": "invalid_auth"}
    assert form(result) == reconfigure_form(sandbox_url, token="wrong")

    async def broken(self: SipgateClient) -> None:
        raise RuntimeError("bug")

    with monkeypatch.context() as patch:
        patch.setattr(SipgateClient, "async_get_userinfo", broken)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], reconfigure_input(sandbox_url)
        )
    assert result["errors"] == {"base": "unknown"}
    assert UNEXPECTED in caplog.record_tuples
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        reconfigure_input(f"{sandbox_url}/", **credentials(TOKEN_NO_DEVICES)),
    )
    assert result["step_id"] == "device"
    assert result["description_placeholders"] == {"account": "1234567w0"}
    assert form(result) == device_form(
        None, {CONF_DEVICE_ID: "e0", CONF_CALLER_ID: "+49211999000"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_DEVICE_ID: "e 0"}
    )
    assert result["errors"] == {CONF_DEVICE_ID: "invalid_device"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_DEVICE_ID: "Y0", CONF_CALLER_ID: "0211 999"}
    )
    assert result["reason"] == "reconfigure_successful"
    assert init_integration.data == {
        CONF_TOKEN_ID: TOKEN_NO_DEVICES.token_id,
        CONF_TOKEN: TOKEN_NO_DEVICES.token,
        CONF_BASE_URL: sandbox_url,
        CONF_WEBHOOK_ID: webhook_id,
    }
    assert init_integration.options == {CONF_DEVICE_ID: "y0", CONF_CALLER_ID: "0211999"}
    # Set up again with the new token, by the entry's own update listener.
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.LOADED
    assert init_integration.runtime_data is not runtime
    assert "update listener" not in caplog.text


async def test_reconfigure_phone_only_keeps_the_entry_loaded(
    hass: HomeAssistant, init_integration: MockConfigEntry, sandbox_url: str
) -> None:
    """Options are read when used: a new phone needs no new setup."""
    runtime = init_integration.runtime_data
    result = await init_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], reconfigure_input(sandbox_url)
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_DEVICE_ID: "y0"}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert init_integration.runtime_data is runtime
    assert init_integration.options[CONF_DEVICE_ID] == "y0"


async def test_reauth_sets_up_a_failed_entry(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    sandbox: SipgateSandbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An entry that failed with the old token is set up with the new one."""
    sandbox.scenario.token_valid = False
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    (flow,) = hass.config_entries.flow.async_progress()
    sandbox.scenario.token_valid = True
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], credentials(TOKEN_NO_DEVICES)
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert mock_config_entry.data[CONF_TOKEN] == TOKEN_NO_DEVICES.token
    assert "update listener" not in caplog.text


async def test_reconfigure_other_account(
    hass: HomeAssistant, init_integration: MockConfigEntry, sandbox_url: str
) -> None:
    """A token of another sipgate user aborts and changes nothing."""
    result = await init_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        reconfigure_input(sandbox_url, **credentials(TOKEN_OTHER_USER)),
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert init_integration.data[CONF_TOKEN_ID] == TOKEN.token_id


async def test_options_flow_dropdown(
    hass: HomeAssistant, init_integration: MockConfigEntry, sandbox: SipgateSandbox
) -> None:
    """The current defaults are filled in; changes apply to the next call."""
    result = await open_options(hass, init_integration, "phone")
    assert result["step_id"] == "phone"
    assert result["errors"] == {}
    assert form(result) == device_form(
        DEVICE_OPTIONS, {CONF_DEVICE_ID: "e0", CONF_CALLER_ID: "+49211999000"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_DEVICE_ID: "y0", CONF_CALLER_ID: "nope"}
    )
    assert result["errors"] == {CONF_CALLER_ID: "invalid_caller_id"}
    assert form(result) == device_form(
        DEVICE_OPTIONS, {CONF_DEVICE_ID: "y0", CONF_CALLER_ID: "nope"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_DEVICE_ID: "y0", CONF_CALLER_ID: "0049 211 42"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert init_integration.options == {
        CONF_DEVICE_ID: "y0",
        CONF_CALLER_ID: "+4921142",
    }
    await hass.services.async_call(
        DOMAIN, "initiate_call", {"callee": "+49211123456"}, blocking=True
    )
    assert sandbox.requests_to("POST", "/v2/sessions/calls")[0].json == {
        "caller": "y0",
        "callee": "+49211123456",
        "deviceId": "y0",
        "callerId": "+4921142",
    }


async def test_options_flow_phoneline(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The phoneline p0, which is not a device, can be picked from the list."""
    result = await open_options(hass, init_integration, "phone")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_DEVICE_ID: "p0"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert init_integration.options == {CONF_DEVICE_ID: "p0"}


@pytest.mark.parametrize("loaded", [True, False])
async def test_options_flow_without_device_list(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    sandbox: SipgateSandbox,
    caplog: pytest.LogCaptureFixture,
    loaded: bool,
) -> None:
    """Without a device list (sipgate fails, or not loaded) a text field."""
    caplog.set_level(logging.DEBUG, LOGGER)
    mock_config_entry.add_to_hass(hass)
    if loaded:
        await hass.config_entries.async_setup(mock_config_entry.entry_id)
        sandbox.scenario.server_error = 500
    result = await open_options(hass, mock_config_entry, "phone")
    message = "sipgate did not send the list: sipgate answered GET /w0/devices with 500"
    assert ((LOGGER, logging.DEBUG, message) in caplog.record_tuples) is loaded
    assert form(result) == device_form(
        None, {CONF_DEVICE_ID: "e0", CONF_CALLER_ID: "+49211999000"}
    )
    for device in ("phone", " "):
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {CONF_DEVICE_ID: device}
        )
        assert result["errors"] == {CONF_DEVICE_ID: "invalid_device"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_DEVICE_ID: "P0"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert mock_config_entry.options == {CONF_DEVICE_ID: "p0"}


async def test_options_sms_from_the_list(
    hass: HomeAssistant, init_integration: MockConfigEntry, sandbox: SipgateSandbox
) -> None:
    """The SMS extensions sipgate lists, with name and sender number."""
    result = await open_options(hass, init_integration, "sms")
    (field,) = form(result)
    assert field["name"] == "sms_id"
    assert field["required"] is True
    assert field["description"] == {"suggested_value": "s0"}
    select = field["selector"]["select"]
    assert select["mode"] == "dropdown"
    extensions = sandbox.requests_to("GET", "/v2/w0/sms")
    assert len(extensions) == 1
    assert [option["value"] for option in select["options"]] == ["s0"]
    assert select["options"][0]["label"] == "SMS von Erika Mustermann (s0, +4921199990)"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"sms_id": "s0"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert init_integration.options == {
        CONF_DEVICE_ID: "e0",
        CONF_CALLER_ID: "+49211999000",
        "sms_id": "s0",
    }


async def test_options_sms_typed(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """Without sms:read (or not loaded) a text field, checked."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, options={**mock_config_entry.options, "sms_id": "s2"}
    )
    result = await open_options(hass, mock_config_entry, "sms")
    (field,) = form(result)
    assert field["selector"] == {"text": {"multiline": False, "multiple": False}}
    assert field["description"] == {"suggested_value": "s2"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"sms_id": "e0"}
    )
    assert result["errors"] == {"sms_id": "invalid_sms_id"}
    assert form(result)[0]["description"] == {"suggested_value": "e0"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"sms_id": " S1 "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert mock_config_entry.options["sms_id"] == "s1"
    assert mock_config_entry.options[CONF_DEVICE_ID] == "e0"


async def test_options_sms_extension_without_sender_number(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An SMS extension without a sender number shows a dash for it."""
    monkeypatch.setitem(SMS_EXTENSIONS, "w0", [{"id": "s0", "alias": "SMS"}])
    result = await open_options(hass, init_integration, "sms")
    (field,) = form(result)
    assert field["selector"]["select"]["options"] == [
        {"value": "s0", "label": "SMS (s0, —)"}
    ]
