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
calls to the server, and it measures memory growth over many calls.

The webhook: it times signed pushes of whole calls (``newCall``, ``answer``,
``hangup``) posted to the entry's webhook through Home Assistant's HTTP app on
loopback, interleaved with the same bodies posted to a webhook that does
nothing, and it posts a burst of concurrent ``newCall`` and then ``hangup``
pushes. It prints a table, checks the targets and writes everything as JSON;
the exit code is 1 when a target is missed.
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
from urllib.parse import urlencode

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
    CONF_PUSH_PUBLIC_KEY,
    CONF_TOKEN_ID,
    DOMAIN,
)
from custom_components.sipgate.push import SIGNATURE_HEADER
from homeassistant import loader
from homeassistant.components import webhook
from homeassistant.const import (
    CONF_TOKEN,
    CONF_WEBHOOK_ID,
    EVENT_HOMEASSISTANT_FINAL_WRITE,
)
from homeassistant.core import (
    Event,
    EventStateChangedData,
    HomeAssistant,
    ServiceCall,
    callback,
)
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.setup import async_setup_component
from sipgate_lab.home_assistant import LOOPBACK, free_port
from sipgate_lab.sandbox import PUSH_HEADERS, TOKEN, SimulatedCall, SipgateSandbox

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
WEBHOOK_P50_RATIO = 2.0
CONCURRENT_PUSHES = 100
NOOP_WEBHOOK_ID = "bench-noop"
# Where the answer to newCall sends answer and hangup (never reached here).
EXTERNAL_URL = "https://home.example"

type Variant = Callable[[], Awaitable[Any]]


# The sandbox that signs the pushes; every sandbox of the benchmark uses it.
PUSHER = SipgateSandbox()
PUSH_KEY = PUSHER.push_public_key_pem


@contextlib.asynccontextmanager
async def server() -> AsyncIterator[tuple[str, SipgateSandbox, set[Any]]]:
    """Serve the sipgate sandbox on loopback, in this process.

    Yield its base URL, the sandbox (which records the calls) and the set of
    connections (peer addresses) the requests came on.
    """
    sandbox = PUSHER
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
            # Unloaded first, as at a real shutdown: what the entry still has
            # to do (such as reading the balance after the last calls) must
            # not run in the next measurement, whose loop it shares.
            for entry in hass.config_entries.async_entries(DOMAIN):
                await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_stop(force=True)


async def _set_up(
    hass: HomeAssistant, base_url: str, mocker: AiohttpClientMocker | None
) -> HomeAssistant:
    """Set up sipgate and rest_command for ``base_url``.

    The entry takes the pushes signed with a sandbox's key (PUSH_KEY).
    """
    if mocker is not None:
        mocker.get(f"{base_url}/v2/authorization/userinfo", json=USERINFO)
        mocker.post(f"{base_url}/v2/sessions/calls", json=SESSION)
        mocker.get(f"{base_url}/v2/balance", json={"amount": 35000, "currency": "EUR"})
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="1234567w0",
        data={
            CONF_TOKEN_ID: TOKEN.token_id,
            CONF_TOKEN: TOKEN.token,
            CONF_BASE_URL: f"{base_url}/v2",
        },
        options={CONF_DEVICE_ID: "e0", CONF_PUSH_PUBLIC_KEY: PUSH_KEY},
    )
    await hass.config.async_update(external_url=EXTERNAL_URL)
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
    webhook.async_register(
        hass, "bench", "no-op", NOOP_WEBHOOK_ID, _noop_webhook, local_only=False
    )
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
    return _percentiles(samples)


def _percentiles(samples: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """Return p50 and p99 of each way, and its p50 over the first way's."""
    base = statistics.median(next(iter(samples.values())))
    results = {}
    for name, values in samples.items():
        percentiles = statistics.quantiles(values, n=100)
        p50 = statistics.median(values)
        results[name] = {
            "p50_us": round(p50, 1),
            "p99_us": round(percentiles[98], 1),
            "ratio_p50": round(p50 / base, 3),
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
    # Write what Home Assistant's stores hold back (such as the registries of
    # the entry's entities) as it does at shutdown: no part of the calls.
    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()
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


@contextlib.asynccontextmanager
async def http_server(hass: HomeAssistant) -> AsyncIterator[str]:
    """Serve Home Assistant's HTTP app (its webhooks) on loopback; yield its URL."""
    runner = web.AppRunner(hass.http.app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, LOOPBACK, port).start()
    try:
        yield f"http://{LOOPBACK}:{port}"
    finally:
        await runner.cleanup()


def signed_call(url: str, caller: str) -> list[tuple[str, bytes, dict[str, str]]]:
    """Return the event, body and headers of each push of a whole call."""
    call = SimulatedCall(url=url, from_=caller)
    fields = [call.new_call_fields(), call.answer_fields()]
    call.answered = True
    fields.append(call.hangup_fields("normalClearing"))
    pushes = []
    for form in fields:
        body = urlencode(form).encode()
        headers = {**PUSH_HEADERS, SIGNATURE_HEADER: PUSHER.sign(body)}
        pushes.append((form[0][1], body, headers))
    return pushes


async def _noop_webhook(hass: HomeAssistant, webhook_id: str, request: Any) -> None:
    """Answer 200 and do nothing: a webhook at Home Assistant's own cost."""


async def time_pushes(
    hass: HomeAssistant, base_url: str, calls: int
) -> dict[str, dict[str, float]]:
    """Time the pushes of ``calls`` whole calls; return p50/p99 in µs.

    Each push is taken turns with the same body and headers posted to a
    webhook that does nothing (the floor). Only a 200 answer counts; newCall
    must be answered with XML.
    """
    (entry,) = hass.config_entries.async_entries(DOMAIN)
    url = f"{base_url}/api/webhook/{entry.data[CONF_WEBHOOK_ID]}"
    noop_url = f"{base_url}/api/webhook/{NOOP_WEBHOOK_ID}"
    session = async_get_clientsession(hass)

    async def post(target: str, body: bytes, headers: dict[str, str]) -> str:
        async with session.post(target, data=body, headers=headers) as response:
            response.raise_for_status()
            return await response.text()

    samples: dict[str, list[float]] = {"no-op webhook": []}
    for turn in range(calls + 50):  # the first 50 warm up
        for event, body, headers in signed_call(url, f"49211{turn % 500:07d}"):
            order = [(noop_url, "no-op webhook"), (url, event)]
            for target, name in order if turn % 2 else order[::-1]:
                start = time.perf_counter_ns()
                text = await post(target, body, headers)
                elapsed = (time.perf_counter_ns() - start) / 1000
                if name == "newCall" and not text.startswith("<?xml"):
                    raise RuntimeError("newCall was not answered with XML")
                if turn >= 50:  # noqa: PLR2004
                    samples.setdefault(name, []).append(elapsed)
                await asyncio.sleep(0)
    await hass.async_block_till_done(wait_background_tasks=True)
    return _percentiles(samples)


async def push_burst(hass: HomeAssistant, base_url: str) -> dict[str, Any]:
    """Post CONCURRENT_PUSHES newCall pushes at once, then their hangups.

    Counts the answers, the calls the event entity reported and the calls
    the sensor shows active after each burst.
    """
    (entry,) = hass.config_entries.async_entries(DOMAIN)
    url = f"{base_url}/api/webhook/{entry.data[CONF_WEBHOOK_ID]}"
    entities = {
        e.translation_key: e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    }
    reported: dict[str, set[str]] = {}

    @callback
    def count(event: Event[EventStateChangedData]) -> None:
        if (state := event.data["new_state"]) is not None:
            attributes = state.attributes
            reported.setdefault(attributes.get("event_type", ""), set()).add(
                attributes.get("call_id", "")
            )

    stop = async_track_state_change_event(hass, [entities["calls"]], count)
    calls = [signed_call(url, f"49211{i:07d}") for i in range(CONCURRENT_PUSHES)]
    session = async_get_clientsession(hass)

    async def post(_: str, body: bytes, headers: dict[str, str]) -> str | None:
        async with session.post(url, data=body, headers=headers) as response:
            return await response.text() if response.status == 200 else None  # noqa: PLR2004

    start = time.perf_counter()
    new_calls = await asyncio.gather(*(post(*pushes[0]) for pushes in calls))
    await hass.async_block_till_done(wait_background_tasks=True)
    active = hass.states.get(entities["call_state"]).attributes["active_calls"]  # type: ignore[union-attr]
    hangups = await asyncio.gather(*(post(*pushes[2]) for pushes in calls))
    await hass.async_block_till_done(wait_background_tasks=True)
    wall = time.perf_counter() - start
    stop()
    left = hass.states.get(entities["call_state"]).attributes["active_calls"]  # type: ignore[union-attr]
    return {
        "pushes": CONCURRENT_PUSHES,
        "new_calls_answered": sum(
            text is not None and text.startswith("<?xml") for text in new_calls
        ),
        "hangups_answered": sum(text is not None for text in hangups),
        "incoming_reported": len(reported.get("incoming", set())),
        "missed_reported": len(reported.get("missed", set())),
        "active_after_new_calls": active,
        "active_after_hangups": left,
        "wall_s": round(wall, 3),
    }


async def run(calls: int) -> dict[str, Any]:
    """Run every measurement and return the results."""
    results: dict[str, Any] = {}
    async with (
        server() as (base_url, sandbox, peers),
        home_assistant(base_url, None) as hass,
    ):
        results["loopback"] = await time_interleaved(variants(hass, base_url), calls)
        results["burst"] = await burst(hass, sandbox, peers)
        async with http_server(hass) as hass_url:
            results["webhook"] = await time_pushes(hass, hass_url, calls)
            results["push_burst"] = await push_burst(hass, hass_url)
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
    pushes = results["push_burst"]
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
            f"webhook p50 of each verified push <= {WEBHOOK_P50_RATIO}x no-op webhook",
            all(
                values["ratio_p50"] <= WEBHOOK_P50_RATIO
                for values in results["webhook"].values()
            ),
        ),
        (
            (
                f"push burst {CONCURRENT_PUSHES}/{CONCURRENT_PUSHES} newCall and "
                "hangup answered, every call reported, none left active"
            ),
            pushes["new_calls_answered"] == CONCURRENT_PUSHES
            and pushes["hangups_answered"] == CONCURRENT_PUSHES
            and pushes["incoming_reported"] == CONCURRENT_PUSHES
            and pushes["missed_reported"] == CONCURRENT_PUSHES
            and pushes["active_after_new_calls"] == CONCURRENT_PUSHES
            and pushes["active_after_hangups"] == 0,
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
    print(f"{'transport':<10} {'way':<22} {'p50 µs':>9} {'p99 µs':>9} {'p50/1st':>9}")
    # Widths fit the longest name, "sipgate.initiate_call".
    for transport in ("loopback", "mocked"):
        for name, values in results[transport].items():
            print(
                f"{transport:<10} {name:<22} {values['p50_us']:>9.1f} "
                f"{values['p99_us']:>9.1f} {values['ratio_p50']:>8.2f}x"
            )
    for name, values in results["webhook"].items():
        print(
            f"{'webhook':<10} {name:<22} {values['p50_us']:>9.1f} "
            f"{values['p99_us']:>9.1f} {values['ratio_p50']:>8.2f}x"
        )
    b = results["burst"]
    print(
        f"\nburst: {b['calls']} concurrent calls: {b['answered']} answered, "
        f"{b['lost']} lost, {b['duplicated']} duplicated, "
        f"{b['connections']} connections, {b['wall_s']} s"
    )
    p = results["push_burst"]
    print(
        f"push burst: {p['pushes']} concurrent newCall, then hangup: "
        f"{p['new_calls_answered']} and {p['hangups_answered']} answered, "
        f"{p['incoming_reported']} incoming and {p['missed_reported']} missed "
        f"reported, {p['active_after_new_calls']} active, then "
        f"{p['active_after_hangups']}, {p['wall_s']} s"
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
