"""Run Home Assistant with the sipgate integration of this working tree.

scripts/develop runs this as ``python -m scripts.lib.develop`` in the Python
3.14 environment of requirements/e2e.txt, as the same process (it execs).
Without SIPGATE_MODE=real it also starts the sipgate sandbox and sets up a
sipgate entry with a sample contact and a dashboard against it. Ctrl-C,
SIGTERM and SIGHUP stop everything; "Restart" in Home Assistant restarts it.
"""

import argparse
import os
from pathlib import Path
import signal
import subprocess
import sys
from types import FrameType
from typing import Any

from homeassistant.const import __version__ as HA_VERSION  # noqa: N812
from sipgate_lab.home_assistant import (
    PASSWORD,
    REPO,
    USER_NAME,
    USERNAME,
    HomeAssistant,
    Sandbox,
    save_dashboard,
    sipgate_call_dashboard,
    wait_for,
)
from sipgate_lab.sandbox import MASTER_SIP_ID, TOKEN

CONFIG = REPO / "config"
PORT = 8123
SANDBOX_PORT = 8099
# What config/configuration.yaml includes, with what Home Assistant writes into
# a new one: automations, scripts and scenes made in the UI go there.
INCLUDED_FILES = {"automations.yaml": "[]\n", "scripts.yaml": "", "scenes.yaml": "[]\n"}
SANDBOX_ENTRY_TITLE = f"sipgate {MASTER_SIP_ID}w0"
DASHBOARD = "sipgate-demo"
CALLEE = "+49 211 123456"
# The sample contact: "Oma Erna" of the sandbox's contacts, with her number.
CONTACT = "contact"
CONTACT_NAME = "Oma Erna"
CONTACT_NUMBER = "+49 211 12345678"
# A contact's entities by translation key, in the order of its card.
CONTACT_ENTITIES = ("call", "sms")


def _stop(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM and SIGHUP into the same clean stop as Ctrl-C."""
    raise KeyboardInterrupt


def main() -> int:
    """Start everything, print where to log in, and wait for Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--config", type=Path, default=CONFIG, help="configuration directory"
    )
    parser.add_argument("--port", type=int, default=PORT, help="Home Assistant")
    parser.add_argument("--sandbox-port", type=int, default=SANDBOX_PORT)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    real = os.environ.get("SIPGATE_MODE") == "real"
    # Ctrl-C, even when started where SIGINT is ignored (in the background).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    sandbox = None if real else Sandbox(args.sandbox_port, None)
    hass = HomeAssistant(args.config, args.port, None)
    try:
        if sandbox is not None:
            print(f"Starting the sipgate sandbox on {sandbox.url}")
            sandbox.start()
        _prepare(hass, args.config)
        print(f"Starting Home Assistant {HA_VERSION} on {hass.url}")
        hass.start()
        _set_up(hass, sandbox)
        _print_instructions(hass, sandbox)
        return _run(hass, sandbox)
    except KeyboardInterrupt:
        print("\nStopping")
        return 0
    except (RuntimeError, TimeoutError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    finally:
        # A second Ctrl-C must not leave Home Assistant running half-stopped.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        hass.stop()
        if sandbox is not None:
            sandbox.stop()


def _prepare(hass: HomeAssistant, config: Path) -> None:
    """Prepare the configuration directory, config/ unless told otherwise.

    Another directory gets a copy of config/configuration.yaml. The files it
    includes are created when missing.
    """
    configuration = None
    if config.resolve() != CONFIG.resolve():
        configuration = (CONFIG / "configuration.yaml").read_text(encoding="utf-8")
    hass.prepare(configuration)
    for name, content in INCLUDED_FILES.items():
        if not (config / name).exists():
            (config / name).write_text(content, encoding="utf-8")


def _set_up(hass: HomeAssistant, sandbox: Sandbox | None) -> None:
    """Onboard on the first start; set up the sandbox entry and dashboard."""
    if not hass.onboarded():
        print(f"Onboarding with the user {USERNAME}")
        tokens = hass.onboard(USER_NAME, USERNAME, PASSWORD)
    else:
        try:
            tokens = hass.login(USERNAME, PASSWORD)
        except RuntimeError as err:
            print(
                f"warning: cannot log in as {USERNAME} ({err}); the sipgate entry "
                "and dashboard are not checked"
            )
            return
    token = tokens["access_token"]
    try:
        hass.wait_until_running(token)
        if sandbox is None:
            if any(
                entry["title"] == SANDBOX_ENTRY_TITLE
                for entry in hass.config_entries(token, "sipgate")
            ):
                print(
                    f'note: the entry "{SANDBOX_ENTRY_TITLE}" talks to the '
                    "sandbox, which does not run now; it fails to set up."
                )
        else:
            entry_id, created = _sandbox_entry(hass, token, sandbox)
            _connect_pushes(hass, token, sandbox, entry_id)
            contact_added = _sample_contact(hass, token, entry_id)
            if created or contact_added or not _has_dashboard(hass, token):
                save_dashboard(
                    hass, token, DASHBOARD, "sipgate", _dashboard(hass, token, entry_id)
                )
    finally:
        hass.revoke(tokens)


def _sandbox_entry(
    hass: HomeAssistant, token: str, sandbox: Sandbox
) -> tuple[str, bool]:
    """Return the sandbox's sipgate entry, adding it through the config flow.

    The second value says whether it was added now.
    """
    for entry in hass.config_entries(token, "sipgate"):
        if entry["title"] == SANDBOX_ENTRY_TITLE:
            return entry["entry_id"], False
    print("Adding the sipgate integration for the sandbox")
    flow = hass.api(
        "POST", "/api/config/config_entries/flow", {"handler": "sipgate"}, token=token
    )
    for step in (
        {
            "token_id": TOKEN.token_id,
            "token": TOKEN.token,
            "advanced_options": {"base_url": sandbox.api_url},
        },
        {"device_id": "e0"},
    ):
        result: dict[str, Any] = hass.api(
            "POST",
            f"/api/config/config_entries/flow/{flow['flow_id']}",
            step,
            token=token,
        )
        if result.get("errors") or result["type"] == "abort":
            raise RuntimeError(
                "the sipgate config flow did not accept the sandbox: "
                f"{result.get('errors') or result.get('reason')}"
            )
    if result["type"] != "create_entry":
        raise RuntimeError(f"the sipgate config flow ended with {result['type']}")
    return result["result"]["entry_id"], True


def _connect_pushes(
    hass: HomeAssistant, token: str, sandbox: Sandbox, entry_id: str
) -> None:
    """Let the sandbox push calls to the entry's webhook, signed with its key.

    Home Assistant's own address becomes its external URL unless one is set.
    The sandbox forgets its sipgate.io settings and makes a new key at every
    start: the options' "Incoming and outgoing calls" step sets both again.
    """
    (config,) = hass.websocket(token, {"type": "get_config"})
    if not config.get("external_url"):
        hass.websocket(token, {"type": "config/core/update", "external_url": hass.url})
    flow_path = "/api/config/config_entries/options/flow"
    flow = hass.api("POST", flow_path, {"handler": entry_id}, token=token)
    for step in (
        {"next_step_id": "calls"},
        {
            "set_in_sipgate": True,
            "advanced_options": {"push_public_key": sandbox.push_public_key()},
        },
    ):
        result: dict[str, Any] = hass.api(
            "POST", f"{flow_path}/{flow['flow_id']}", step, token=token
        )
        if result["type"] == "abort":
            raise RuntimeError(
                f"the sipgate options did not open their calls step: {result['reason']}"
            )
    # The form warns that the sandbox's http:// address is not HTTPS.
    if result["type"] != "create_entry":
        raise RuntimeError(
            f"the sipgate options did not accept the sandbox: {result.get('errors')}"
        )


def _sample_contact(hass: HomeAssistant, token: str, entry_id: str) -> bool:
    """Add the sample contact to the entry unless it has contacts; say if added.

    It is added through the contact flow, as "Add contact" on the entry's page
    does, and its entities are waited for: the entry reloads to make them.
    """
    if hass.subentries(token, entry_id, CONTACT):
        return False
    print(f"Adding the contact {CONTACT_NAME} to the sipgate entry")
    flow_path = "/api/config/config_entries/subentries/flow"
    flow = hass.api("POST", flow_path, {"handler": [entry_id, CONTACT]}, token=token)
    if flow["type"] != "form":
        raise RuntimeError(
            f"the sipgate contact flow did not open: {flow.get('reason')}"
        )
    result: dict[str, Any] = hass.api(
        "POST",
        f"{flow_path}/{flow['flow_id']}",
        {"name": CONTACT_NAME, "number": CONTACT_NUMBER},
        token=token,
    )
    if result["type"] != "create_entry":
        raise RuntimeError(
            "the sipgate contact flow did not accept the sample contact: "
            f"{result.get('errors') or result.get('reason')}"
        )

    def entities() -> bool:
        contacts = hass.subentries(token, entry_id, CONTACT)
        return any(
            set(CONTACT_ENTITIES)
            <= hass.entity_ids(token, entry_id, contact["subentry_id"]).keys()
            for contact in contacts
        )

    wait_for(entities, f"the entities of the contact {CONTACT_NAME}", 60)
    return True


def _dashboard(hass: HomeAssistant, token: str, entry_id: str) -> dict[str, Any]:
    """Return the demo dashboard: the Call button and the entry's entities.

    The account's call entities, a card per contact (its Call button and SMS
    entity) and the account's balance, if the token may read it.
    """
    dashboard = sipgate_call_dashboard(CALLEE, entry_id)
    cards: list[dict[str, Any]] = dashboard["views"][0]["cards"]
    account = hass.entity_ids(token, entry_id)
    balance = account.pop("balance", None)
    cards.append(
        {"type": "entities", "title": "Calls", "entities": sorted(account.values())}
    )
    for contact in hass.subentries(token, entry_id, CONTACT):
        entities = hass.entity_ids(token, entry_id, contact["subentry_id"])
        cards.append(
            {
                "type": "entities",
                "title": contact["title"],
                "entities": [
                    entities[key] for key in CONTACT_ENTITIES if key in entities
                ],
            }
        )
    if balance is not None:
        cards.append({"type": "entities", "title": "Account", "entities": [balance]})
    return dashboard


def _has_dashboard(hass: HomeAssistant, token: str) -> bool:
    """Return whether the demo dashboard exists."""
    (dashboards,) = hass.websocket(token, {"type": "lovelace/dashboards/list"})
    return any(dashboard["url_path"] == DASHBOARD for dashboard in dashboards)


def _print_instructions(hass: HomeAssistant, sandbox: Sandbox | None) -> None:
    """Say where to log in and what to try."""
    print(f"""
Home Assistant {HA_VERSION} runs at {hass.url} with the sipgate integration
of this working tree. Log in as {USERNAME}, password {PASSWORD}.""")
    if sandbox is not None:
        print(f"""It talks to the sipgate sandbox on {sandbox.api_url}. Try:
- Dashboard "sipgate" in the sidebar: press "Call {CALLEE}". The sandbox
  logs POST /v2/sessions/calls here.
- Let sipgate refuse calls for lack of balance, then press Call again:
  Notifications shows "Call to {CALLEE} failed" and why.
    curl -H 'Content-Type: application/json' -d '{{"balance": 0}}' \\
        {sandbox.url}/_sandbox/scenario
  Back to normal: curl -X POST {sandbox.url}/_sandbox/reset
- Settings → Tools → Actions → "sipgate: Initiate call" with other numbers
  and phones (e0, y0, x0).
- The contact "{CONTACT_NAME}" on the dashboard: "{CONTACT_NAME} Call" → Press
  calls her. Text her: Settings → Tools → Actions → "Send a notification
  message", target "SMS {CONTACT_NAME}", a message; the sandbox logs
  POST /v2/sessions/sms. More contacts: Settings → Devices & services →
  sipgate → Add contact. "Account" shows the balance (sipgate reads it
  every 30 minutes and after each call or SMS).
- Let "{CONTACT_NAME}" call: the dashboard shows her ringing, then talking
  after 5 seconds, until you press "Hang up":
    curl -H 'Content-Type: application/json' \\
        -d '{{"from": "4921112345678", "answer_after": 5, "hangup": "on_delete"}}' \\
        {sandbox.url}/_sandbox/push/call
  Other fields: direction (in, out), to, answer (false: nobody answers),
  hangup_after (seconds), hangup (send, drop, on_delete), cause.""")
    else:
        token_id = os.environ.get("SIPGATE_TOKEN_ID", "")
        print(f"""It talks to the real sipgate API. Add the integration: Settings →
Devices & services → Add integration → sipgate, with token ID {token_id}
and your token. Calls ring real phones and cost real money.""")
    print("""After changing the code: Settings → ⋮ → Restart Home Assistant.
Log: home-assistant.log in the configuration directory. Ctrl-C stops
everything.
""")


def _run(hass: HomeAssistant, sandbox: Sandbox | None) -> int:
    """Wait until Home Assistant ends; start it again when it asks to."""
    while True:
        try:
            code = hass.wait(timeout=1)
        except subprocess.TimeoutExpired:
            if sandbox is not None:
                sandbox.check_running()
            continue
        if not hass.restart_requested:
            print(f"Home Assistant stopped (exit code {code})")
            return code
        print("Restarting Home Assistant")
        hass.stop()
        hass.start()


if __name__ == "__main__":
    sys.exit(main())
