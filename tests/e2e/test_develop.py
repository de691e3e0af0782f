"""scripts/develop: the developer's Home Assistant, and how it stops.

Each test starts ``scripts/develop`` with a configuration directory and ports
of its own, waits until it is ready, and stops it with a signal sent to the
script's process alone, as ``kill`` does.
"""

from collections.abc import Generator
import contextlib
import json
import os
from pathlib import Path
import queue
import re
import signal
import socket
import subprocess
import threading
from typing import Any

import pytest

from sipgate_lab.home_assistant import (
    LOOPBACK,
    PASSWORD,
    REPO,
    USERNAME,
    HomeAssistant,
    Sandbox,
    free_port,
    http_json,
    wait_for,
)

READY = "Log in as"
CALL_STATE = "sensor.sipgate_1234567w0_call_state"
HANG_UP = "button.sipgate_1234567w0_hang_up"
DASHBOARD = "sipgate-demo"
# The sample contact's number, as sipgate gets it.
CONTACT_NUMBER = "+4921112345678"
# The first start in a new directory onboards and adds the sandbox entry.
START_TIMEOUT = 300


class Develop:
    """A running ``scripts/develop`` and what it printed."""

    def __init__(
        self, config: Path, port: int | None = None, sandbox_port: int | None = None
    ) -> None:
        """Start it on these or free ports; ``wait_until_ready`` waits for it."""
        self.config = config
        self.port = port or free_port()
        self.sandbox_port = sandbox_port or free_port()
        env = {
            name: value
            for name, value in os.environ.items()
            if name not in {"SIPGATE_TOKEN_ID", "SIPGATE_TOKEN"}
        }
        self.process = subprocess.Popen(  # noqa: S603
            [
                str(REPO / "scripts" / "develop"),
                *("--config", str(config)),
                *("--port", str(self.port)),
                *("--sandbox-port", str(self.sandbox_port)),
            ],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        self._output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)

    @property
    def output(self) -> str:
        """Return what it printed so far."""
        while not self._lines.empty():
            self._output.append(self._lines.get())
        return "".join(self._output)

    def wait_until_ready(self) -> None:
        """Wait until it prints where to log in."""

        def ready() -> bool:
            if self.process.poll() is not None:
                pytest.fail(f"scripts/develop ended early:\n{self.output}")
            return READY in self.output

        wait_for(ready, "scripts/develop to be ready", START_TIMEOUT)

    def listening(self) -> list[int]:
        """Return which of its two ports something listens on."""
        listening = []
        for port in (self.port, self.sandbox_port):
            try:
                socket.create_connection((LOOPBACK, port), timeout=2).close()
            except OSError:
                continue
            listening.append(port)
        return listening

    def kill_leftovers(self) -> None:
        """Kill the script and anything it started that still runs."""
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.process.wait()
        marks = (str(self.config), f"--port\0{self.sandbox_port}\0")
        for proc in Path("/proc").iterdir():
            with contextlib.suppress(OSError, ValueError):
                cmdline = (proc / "cmdline").read_text()
                if any(mark in cmdline for mark in marks):
                    os.kill(int(proc.name), signal.SIGKILL)


@pytest.fixture
def develop(tmp_path: Path) -> Generator[Develop]:
    """Start scripts/develop and wait until it is ready."""
    develop = Develop(tmp_path / "config")
    try:
        develop.wait_until_ready()
        yield develop
    finally:
        develop.kill_leftovers()


def stop_with(develop: Develop, signum: signal.Signals) -> None:
    """Send the signal to the script alone; everything it started stops."""
    assert develop.listening() == [develop.port, develop.sandbox_port], develop.output
    os.kill(develop.process.pid, signum)
    assert develop.process.wait(timeout=90) == 0, develop.output
    assert "Stopping" in develop.output
    assert develop.listening() == [], develop.output


def test_automations_made_in_the_ui_then_sigterm(develop: Develop) -> None:
    """An automation saved through the UI's API runs; SIGTERM stops it all."""
    hass = HomeAssistant(develop.config, develop.port, None)
    tokens = hass.login(USERNAME, PASSWORD)
    token = tokens["access_token"]
    hass.api(
        "POST",
        "/api/config/automation/config/sipgate_test",
        {
            "alias": "sipgate test",
            "triggers": [{"trigger": "event", "event_type": "sipgate_test"}],
            "actions": [],
        },
        token=token,
    )

    def automation_loaded() -> bool:
        states = hass.api("GET", "/api/states", token=token)
        return any(state["entity_id"] == "automation.sipgate_test" for state in states)

    wait_for(automation_loaded, "the automation made through the UI", 60)
    assert "sipgate_test" in (develop.config / "automations.yaml").read_text()
    hass.revoke(tokens)
    stop_with(develop, signal.SIGTERM)


def test_the_printed_call_rings_then_sigterm(develop: Develop) -> None:
    """The call the instructions print rings, is answered and hung up."""
    # The printed command: curl ... -d '{...}' ... <sandbox>/_sandbox/push/call
    match = re.search(
        r"-d '(\{[^']*\})' \\\s+(http://\S+/_sandbox/push/call)", develop.output
    )
    assert match is not None, develop.output
    hass = HomeAssistant(develop.config, develop.port, None)
    tokens = hass.login(USERNAME, PASSWORD)
    token = tokens["access_token"]
    http_json("POST", match[2], json.loads(match[1]))

    def state(wanted: str) -> dict[str, Any] | None:
        sensor = hass.api("GET", f"/api/states/{CALL_STATE}", token=token)
        return sensor if sensor["state"] == wanted else None

    talking = wait_for(lambda: state("talking"), "the call to be answered", 60)
    assert talking["attributes"]["caller_name"] == "Oma Erna"
    hass.api("POST", "/api/services/button/press", {"entity_id": HANG_UP}, token=token)
    wait_for(lambda: state("idle"), "the call to end", 60)
    hass.revoke(tokens)
    stop_with(develop, signal.SIGTERM)


@pytest.mark.parametrize(
    "signum", [signal.SIGINT, signal.SIGHUP], ids=["SIGINT", "SIGHUP"]
)
def test_other_signals_stop_everything(
    develop: Develop, signum: signal.Signals
) -> None:
    """Ctrl-C's SIGINT and a closed terminal's SIGHUP sent to the script alone."""
    stop_with(develop, signum)


def dashboard_entities(hass: HomeAssistant, token: str) -> set[str]:
    """Return the entities on the cards of the demo dashboard."""
    (config,) = hass.websocket(
        token, {"type": "lovelace/config", "url_path": DASHBOARD}
    )
    return {
        entity
        for view in config["views"]
        for card in view["cards"]
        for entity in card.get("entities", [])
    }


def test_the_sample_contact_and_balance_then_a_second_start(develop: Develop) -> None:
    """The dashboard calls and texts the sample contact and shows the balance.

    A second start with the same directory adds neither entry nor contact.
    """
    hass = HomeAssistant(develop.config, develop.port, None)
    sandbox = Sandbox(develop.sandbox_port, None)  # Started by the script.
    tokens = hass.login(USERNAME, PASSWORD)
    token = tokens["access_token"]
    (entry,) = hass.config_entries(token, "sipgate")
    (contact,) = hass.subentries(token, entry["entry_id"], "contact")
    assert contact["title"] == "Oma Erna"
    contact_ids = hass.entity_ids(token, entry["entry_id"], contact["subentry_id"])
    balance = hass.entity_ids(token, entry["entry_id"])["balance"]
    on_dashboard = dashboard_entities(hass, token)
    assert {contact_ids["call"], contact_ids["sms"], balance} <= on_dashboard
    assert hass.api("GET", f"/api/states/{balance}", token=token)["state"] == "3.5"

    hass.api(
        "POST",
        "/api/services/button/press",
        {"entity_id": contact_ids["call"]},
        token=token,
    )
    (call,) = wait_for(sandbox.calls, "the call to the contact", 60)
    assert call["json"]["callee"] == CONTACT_NUMBER
    hass.api(
        "POST",
        "/api/services/notify/send_message",
        {"entity_id": contact_ids["sms"], "message": "Hallo Oma"},
        token=token,
    )
    (sms,) = wait_for(sandbox.sms, "the SMS to the contact", 60)
    assert sms["json"] == {
        "smsId": "s0",
        "recipient": CONTACT_NUMBER,
        "message": "Hallo Oma",
    }
    hass.revoke(tokens)
    stop_with(develop, signal.SIGTERM)

    again = Develop(develop.config, develop.port, develop.sandbox_port)
    try:
        again.wait_until_ready()
        assert "Adding" not in again.output
        tokens = hass.login(USERNAME, PASSWORD)
        token = tokens["access_token"]
        (entry,) = hass.config_entries(token, "sipgate")
        assert len(hass.subentries(token, entry["entry_id"], "contact")) == 1
        assert dashboard_entities(hass, token) == on_dashboard
        hass.revoke(tokens)
        stop_with(again, signal.SIGTERM)
    finally:
        again.kill_leftovers()
