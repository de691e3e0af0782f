"""Benchmark of sipgate.initiate_call: speed, a burst, and memory.

scripts/bench runs this as ``python -m scripts.lib.bench`` in the newest test
stack. In one process, one request at a time and interleaved, it times three
ways of sending the same click-to-dial request:

- ``bare POST``: aiohttp's ``post`` through Home Assistant's shared session;
- ``rest_command``: Home Assistant's ``rest_command`` action;
- ``sipgate.initiate_call``: this integration's action.

It does so against the sipgate sandbox served on loopback in the same process,
and again with Home Assistant's mocked transport (no network, which isolates
what each way adds on top of aiohttp). Then it sends a burst of concurrent
calls to the server, and it measures memory growth over many calls. It prints
a table, checks the targets and writes everything as JSON; the exit code is 1
when a target is missed.
"""

import argparse
import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
import gc
import json
from pathlib import Path
import statistics
import sys
import time
import tracemalloc
from typing import Any
from unittest.mock import patch

from aiohttp import ThreadedResolver, web
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
    MockConfigEntry,
    async_test_home_assistant,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import (  # type: ignore[import-untyped]
    AiohttpClientMocker,
    mock_aiohttp_client,
)

from custom_components.sipgate.const import (
    CONF_BASE_URL,
    CONF_DEVICE_ID,
    CONF_TOKEN_ID,
    DOMAIN,
)
from homeassistant import loader
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.setup import async_setup_component
from sipgate_lab.home_assistant import LOOPBACK, free_port
from sipgate_lab.sandbox import TOKEN, SipgateSandbox

REPO = Path(__file__).resolve().parents[2]
CALLEE = "+49211123456"
BODY = json.dumps({"caller": "e0", "callee": CALLEE, "deviceId": "e0"})
HEADERS = {
    "Accept": "application/json",
    "Authorization": TOKEN.authorization,
    "Content-Type": "application/json",
}
# What the mocked transport answers.
USERINFO = {"sub": "w0", "domain": "sipgate.de", "masterSipId": "1234567"}
SESSION = {"sessionId": "52576B150A0D0E3A5D52405454577E56555A5655555B565B7C5E"}

# Targets on a 2-core machine (CONTRIBUTING.md).
LOOPBACK_P50_RATIO = 1.05
MOCKED_P50_RATIO = 4.0
BURST_CALLS = 200
MEMORY_CALLS = 10_000
# Growth of traced memory over MEMORY_CALLS calls that counts as noise.
MEMORY_NOISE_BYTES = 64 * 1024

type Variant = Callable[[], Awaitable[Any]]


@contextlib.asynccontextmanager
async def server() -> AsyncIterator[tuple[str, SipgateSandbox, set[Any]]]:
    """Serve the sipgate sandbox on loopback, in this process.

    Yield its base URL, the sandbox (which records the calls) and the set of
    connections (peer addresses) the requests came on.
    """
    sandbox = SipgateSandbox()
    peers: set[Any] = set()

    async def count_peer(request: web.Request, response: web.StreamResponse) -> None:
        peers.add(request.transport.get_extra_info("peername"))  # type: ignore[union-attr]

    app = sandbox.create_app()
    app.on_response_prepare.append(count_peer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, LOOPBACK, port).start()
    try:
        yield f"http://{LOOPBACK}:{port}", sandbox, peers
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def home_assistant(base_url: str, mocker: AiohttpClientMocker | None) -> Any:
    """Yield a Home Assistant with sipgate and rest_command for ``base_url``."""
    # The shared session's resolver would start zeroconf; the server's address
    # is an IP address, which needs no resolver anyway.
    resolver = ThreadedResolver()
    resolver.real_close = resolver.close  # type: ignore[attr-defined]
    with patch(
        "homeassistant.helpers.aiohttp_client._async_make_resolver",
        return_value=resolver,
    ):
        async with async_test_home_assistant() as hass:
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)
            yield await _set_up(hass, base_url, mocker)
            await hass.async_stop(force=True)


async def _set_up(
    hass: HomeAssistant, base_url: str, mocker: AiohttpClientMocker | None
) -> HomeAssistant:
    """Set up sipgate and rest_command for ``base_url``."""
    if mocker is not None:
        mocker.get(f"{base_url}/v2/authorization/userinfo", json=USERINFO)
        mocker.post(f"{base_url}/v2/sessions/calls", json=SESSION)
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="1234567w0",
        data={
            CONF_TOKEN_ID: TOKEN.token_id,
            CONF_TOKEN: TOKEN.token,
            CONF_BASE_URL: f"{base_url}/v2",
        },
        options={CONF_DEVICE_ID: "e0"},
    )
    entry.add_to_hass(hass)
    if not await hass.config_entries.async_setup(entry.entry_id):
        raise RuntimeError("the sipgate entry did not set up")
    if not await async_setup_component(
        hass,
        "rest_command",
        {
            "rest_command": {
                "sipgate_call": {
                    "url": f"{base_url}/v2/sessions/calls",
                    "method": "post",
                    "headers": HEADERS,
                    "payload": BODY,
                    "timeout": 10,
                }
            }
        },
    ):
        raise RuntimeError("rest_command did not set up")
    await hass.async_block_till_done()
    return hass


def variants(hass: HomeAssistant, base_url: str) -> dict[str, Variant]:
    """Return the ways of sending the call, by name.

    Besides the three ways, ``no-op action + POST`` performs an action that
    does nothing and then the bare POST: the least any action that sends the
    request can cost, the floor under both actions.
    """
    session = async_get_clientsession(hass)
    url = f"{base_url}/v2/sessions/calls"
    if not hass.services.has_service("bench", "noop"):
        hass.services.async_register("bench", "noop", _noop)

    async def bare() -> None:
        async with session.post(url, data=BODY, headers=HEADERS) as response:
            response.raise_for_status()
            await response.text()

    async def rest_command() -> None:
        await hass.services.async_call(
            "rest_command", "sipgate_call", {}, blocking=True
        )

    async def sipgate() -> None:
        await hass.services.async_call(
            DOMAIN, "initiate_call", {"callee": CALLEE}, blocking=True
        )

    async def floor() -> None:
        await hass.services.async_call("bench", "noop", {}, blocking=True)
        await bare()

    return {
        "bare POST": bare,
        "no-op action + POST": floor,
        "rest_command": rest_command,
        "sipgate.initiate_call": sipgate,
    }


async def _noop(call: ServiceCall) -> None:
    """Do nothing: an action at Home Assistant's own cost only."""


async def time_interleaved(
    ways: dict[str, Variant], calls: int
) -> dict[str, dict[str, float]]:
    """Time each way ``calls`` times, taking turns; return p50/p99 in µs."""
    names = list(ways)
    for _ in range(50):  # warm up caches and connections
        for name in names:
            await ways[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for turn in range(calls):
        shift = turn % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter_ns()
            await ways[name]()
            samples[name].append((time.perf_counter_ns() - start) / 1000)
            # Let the event loop run between requests, as it does in Home
            # Assistant (it also drops cancelled timers then).
            await asyncio.sleep(0)
    bare = statistics.median(samples[names[0]])
    results = {}
    for name, values in samples.items():
        percentiles = statistics.quantiles(values, n=100)
        p50 = statistics.median(values)
        results[name] = {
            "p50_us": round(p50, 1),
            "p99_us": round(percentiles[98], 1),
            "ratio_p50": round(p50 / bare, 3),
        }
    return results


async def burst(
    hass: HomeAssistant, sandbox: SipgateSandbox, peers: set[Any]
) -> dict[str, Any]:
    """Send BURST_CALLS calls at once; count what the sandbox got."""
    sandbox.reset()
    peers.clear()
    callees = [f"+49211{index:06d}" for index in range(BURST_CALLS)]
    start = time.perf_counter()
    results = await asyncio.gather(
        *(
            hass.services.async_call(
                DOMAIN,
                "initiate_call",
                {"callee": callee},
                blocking=True,
                return_response=True,
            )
            for callee in callees
        ),
        return_exceptions=True,
    )
    wall = time.perf_counter() - start
    got = [call["callee"] for call in sandbox.calls]
    return {
        "calls": BURST_CALLS,
        "answered": sum(isinstance(result, dict) for result in results),
        "lost": len(set(callees) - set(got)),
        "duplicated": len(got) - len(set(got)),
        "connections": len(peers),
        "wall_s": round(wall, 3),
    }


async def memory(hass: HomeAssistant, mocker: AiohttpClientMocker) -> dict[str, Any]:
    """Return how much traced memory MEMORY_CALLS more calls leave behind."""
    call = variants(hass, "")["sipgate.initiate_call"]

    async def calls(count: int) -> None:
        for _ in range(count):
            await call()
            mocker.mock_calls.clear()
            await asyncio.sleep(0)

    await calls(1000)
    tracemalloc.start()
    await calls(100)
    gc.collect()
    before = tracemalloc.take_snapshot()
    await calls(MEMORY_CALLS)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    growth = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    top = [
        str(stat)
        for stat in after.compare_to(before, "lineno")[:5]
        if stat.size_diff > 0
    ]
    return {"calls": MEMORY_CALLS, "growth_bytes": growth, "top_growth": top}


async def run(calls: int) -> dict[str, Any]:
    """Run every measurement and return the results."""
    results: dict[str, Any] = {}
    async with (
        server() as (base_url, sandbox, peers),
        home_assistant(base_url, None) as hass,
    ):
        results["loopback"] = await time_interleaved(variants(hass, base_url), calls)
        results["burst"] = await burst(hass, sandbox, peers)
    with mock_aiohttp_client() as mocker:
        base_url = "http://sipgate.invalid"
        async with home_assistant(base_url, mocker) as hass:
            results["mocked"] = await time_interleaved(variants(hass, base_url), calls)
            mocker.mock_calls.clear()
            results["memory"] = await memory(hass, mocker)
    return results


def targets(results: dict[str, Any]) -> list[tuple[str, bool]]:
    """Return each target with whether it was met."""
    ours = "sipgate.initiate_call"
    burst_result = results["burst"]
    return [
        (
            f"loopback p50 <= {LOOPBACK_P50_RATIO}x bare",
            results["loopback"][ours]["ratio_p50"] <= LOOPBACK_P50_RATIO,
        ),
        (
            "loopback p50 below rest_command",
            results["loopback"][ours]["p50_us"]
            < results["loopback"]["rest_command"]["p50_us"],
        ),
        (
            f"mocked p50 <= {MOCKED_P50_RATIO}x bare",
            results["mocked"][ours]["ratio_p50"] <= MOCKED_P50_RATIO,
        ),
        (
            f"burst {BURST_CALLS}/{BURST_CALLS} answered, 0 lost, 0 duplicated",
            burst_result["answered"] == BURST_CALLS
            and burst_result["lost"] == 0
            and burst_result["duplicated"] == 0,
        ),
        (
            (
                f"memory growth <= {MEMORY_NOISE_BYTES // 1024} KiB "
                f"over {MEMORY_CALLS} calls"
            ),
            results["memory"]["growth_bytes"] <= MEMORY_NOISE_BYTES,
        ),
    ]


def report(results: dict[str, Any]) -> None:
    """Print the results as a table."""
    print(f"{'transport':<10} {'way':<22} {'p50 µs':>9} {'p99 µs':>9} {'p50/bare':>9}")
    # Widths fit the longest name, "sipgate.initiate_call".
    for transport in ("loopback", "mocked"):
        for name, values in results[transport].items():
            print(
                f"{transport:<10} {name:<22} {values['p50_us']:>9.1f} "
                f"{values['p99_us']:>9.1f} {values['ratio_p50']:>8.2f}x"
            )
    b = results["burst"]
    print(
        f"\nburst: {b['calls']} concurrent calls: {b['answered']} answered, "
        f"{b['lost']} lost, {b['duplicated']} duplicated, "
        f"{b['connections']} connections, {b['wall_s']} s"
    )
    m = results["memory"]
    print(
        f"memory: {m['calls']} calls left {m['growth_bytes'] / 1024:.1f} KiB "
        "of traced memory behind"
    )
    for line in m["top_growth"]:
        print(f"  {line}")
    print()
    for target, met in targets(results):
        print(f"{'met   ' if met else 'MISSED'} {target}")


def main() -> int:
    """Run the benchmark and report it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=1000, help="per way and transport")
    parser.add_argument(
        "--json", type=Path, default=REPO / ".cache" / "bench.json", help="results"
    )
    args = parser.parse_args()
    results = asyncio.run(run(args.calls))
    report(results)
    met = targets(results)
    results["targets"] = dict(met)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"\nResults: {args.json}")
    return 0 if all(ok for _, ok in met) else 1


if __name__ == "__main__":
    sys.exit(main())
