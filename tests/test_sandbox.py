"""Tests of the sipgate sandbox's own control endpoints."""

from collections.abc import AsyncGenerator
from typing import Any

import aiohttp
import pytest

from sipgate_lab.sandbox import Scenario, SipgateSandbox


@pytest.fixture
async def control(sandbox_url: str) -> AsyncGenerator[Any]:
    """Return a function that posts a body to /_sandbox/scenario."""
    url = sandbox_url.replace("/v2", "/_sandbox/scenario")
    async with aiohttp.ClientSession() as session:

        async def post(body: str) -> tuple[int, str]:
            async with session.post(
                url, data=body, headers={"Content-Type": "application/json"}
            ) as response:
                return response.status, await response.text()

        yield post


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"token_valid": "false"}', "token_valid takes bool"),
        ('{"balance": true}', "balance takes int"),
        ('{"balance": 1.5}', "balance takes int"),
        ('{"delay": "12"}', "delay takes int or float"),
        ('{"delay": -1}', "delay takes seconds from 0 to 3600"),
        ('{"server_error": 404}', "server_error takes a status from 500 to 599"),
        ('{"rate_limit": -5}', "rate_limit takes seconds from 0"),
        ('{"drop_connection": 1}', "drop_connection takes bool"),
        ('{"ballance": 0}', "Unknown scenario field 'ballance'"),
        ("delay=12", "The body is not JSON"),
        ("[1, 2]", "The body is not a JSON object"),
    ],
)
async def test_scenario_refuses_wrong_input(
    control: Any, sandbox: SipgateSandbox, body: str, message: str
) -> None:
    """Wrong names, types or ranges get 400 with why; nothing changes."""
    assert await control(body) == (400, message)
    assert sandbox.scenario == Scenario()


async def test_scenario_changes(control: Any, sandbox: SipgateSandbox) -> None:
    """Well-typed changes apply and the new scenario is answered."""
    status, _ = await control(
        '{"balance": 0, "token_valid": false, "delay": 0.5, "server_error": 503}'
    )
    assert status == 200
    assert sandbox.scenario == Scenario(
        balance=0, token_valid=False, delay=0.5, server_error=503
    )
    status, _ = await control('{"server_error": null, "rate_limit": 30}')
    assert status == 200
    assert (sandbox.scenario.server_error, sandbox.scenario.rate_limit) == (None, 30)
