"""The README's automation and script examples work as written."""

from pathlib import Path
import re
from typing import Any

import pytest
import yaml

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from sipgate_lab.sandbox import SipgateSandbox

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def example(title: str) -> Any:
    """Return the YAML of the README example under this heading."""
    match = re.search(
        rf"^### Example: {title}\n.*?```yaml\n(.*?)```",
        README,
        re.DOTALL | re.MULTILINE,
    )
    assert match, title
    return yaml.safe_load(match.group(1))


@pytest.mark.usefixtures("init_integration")
async def test_automation_example(hass: HomeAssistant, sandbox: SipgateSandbox) -> None:
    """The water sensor automation rings the mobile and calls the plumber."""
    hass.states.async_set("binary_sensor.basement_water", "off")
    assert await async_setup_component(hass, "automation", example("automation"))
    hass.states.async_set("binary_sensor.basement_water", "on")
    await hass.async_block_till_done()
    (request,) = sandbox.requests_to("POST", "/v2/sessions/calls")
    assert request.json == {
        "caller": "y0",
        "callee": "+49211123456",
        "deviceId": "e0",
        "callerId": "+49211999000",
    }


@pytest.mark.usefixtures("init_integration")
async def test_script_example(hass: HomeAssistant, sandbox: SipgateSandbox) -> None:
    """The script example calls and gets the session ID as a response."""
    assert await async_setup_component(hass, "script", example("script"))
    response = await hass.services.async_call(
        "script", "call_grandma", blocking=True, return_response=True
    )
    assert response == {"session_id": sandbox.calls[0]["sessionId"]}
    assert sandbox.calls[0]["callee"] == "0211123456"
    assert sandbox.calls[0]["callerId"] == "+49211999000"


def test_button_example() -> None:
    """The dashboard button performs the action with a callee."""
    card = example("dashboard button")
    assert card["tap_action"]["action"] == "perform-action"
    assert card["tap_action"]["perform_action"] == "sipgate.initiate_call"
    assert "callee" in card["tap_action"]["data"]
