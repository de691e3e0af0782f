"""A real Home Assistant and the sipgate sandbox as processes on loopback.

Shared by ``scripts/develop`` and the end-to-end tests: it prepares a
configuration directory that loads the integration from this working tree,
starts and stops ``hass`` and the sandbox, onboards Home Assistant and talks to
its REST and WebSocket APIs. It needs the packages of requirements/e2e.txt.
"""

import asyncio
from collections.abc import Callable
import concurrent.futures
from datetime import UTC, datetime
from http import HTTPStatus
import json
import os
from pathlib import Path
import signal
import socket
import subprocess
import sys
import time
from typing import IO, Any
import urllib.error
import urllib.parse
import urllib.request

import aiohttp

from homeassistant.components.http.config import (
    HTTP_STORAGE_SCHEMA,
    STORAGE_KEY as HTTP_STORAGE_KEY,
    STORAGE_MINOR_VERSION as HTTP_STORAGE_MINOR_VERSION,
    STORAGE_VERSION as HTTP_STORAGE_VERSION,
)
from homeassistant.const import RESTART_EXIT_CODE

REPO = Path(__file__).resolve().parents[1]
INTEGRATION = REPO / "custom_components" / "sipgate"
LOOPBACK = "127.0.0.1"
# The configuration of the end-to-end suite's Home Assistant. The suite owns it:
# a developer's edits of config/configuration.yaml (scripts/develop) cannot
# change what it tests. Its external URL is where the sandbox pushes calls to.
E2E_CONFIGURATION = """\
homeassistant:
  name: sipgate end-to-end
  external_url: "{url}"
  country: DE
  language: en
  currency: EUR
  time_zone: Europe/Berlin
  unit_system: metric

logger:
  default: warning
  logs:
    custom_components.sipgate: debug
    # Parts of Home Assistant the suite does not use, which complain about
    # programs it does not install (ffmpeg, libturbojpeg).
    haffmpeg: critical
    homeassistant.components.camera.img_util: critical
"""
# The administrator that onboarding creates; scripts/develop documents it.
USER_NAME = "Developer"
USERNAME = "dev"
PASSWORD = "sipgate-dev"
# hass installs missing requirements with uv, which ignores the system's CA
# bundle unless it is named.
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def free_port() -> int:
    """Return a TCP port on loopback that is free right now."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for[T](
    condition: Callable[[], T | None], what: str, timeout: float = 120
) -> T:
    """Poll ``condition`` until it returns a true value and return it."""
    deadline = time.monotonic() + timeout
    while True:
        if result := condition():
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"Timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.2)


class Service:
    """A child process; its output goes to a log file or to ours."""

    def __init__(
        self,
        name: str,
        args: list[str],
        log_path: Path | None,
        env: dict[str, str] | None = None,
    ) -> None:
        """Remember how to start the process; ``start`` starts it."""
        self.name = name
        self.args = args
        self.log_path = log_path
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> None:
        """Start the process in its own session, appending to its log.

        In its own session it does not get the terminal's Ctrl-C: whoever
        started it stops it, in order.
        """
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603
            self.args,
            cwd=REPO,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=None if self._log is None else subprocess.STDOUT,
            start_new_session=True,
        )

    def start_listening(
        self, port: int, probe_url: str, what: str, timeout: float
    ) -> None:
        """Start a server process and wait until ``probe_url`` answers at all.

        Any HTTP answer, an error status included, means it listens.
        """
        refuse_if_in_use(port, self.name)
        Service.start(self)

        def answering() -> bool:
            self.check_running()
            try:
                http_json("GET", probe_url)
            except HTTPError:
                return True
            except OSError:
                return False
            return True

        wait_for(answering, f"{what} on {probe_url}", timeout)

    @property
    def returncode(self) -> int | None:
        """Return the exit code, or ``None`` while it runs (or never ran)."""
        return None if self.process is None else self.process.poll()

    def wait(self, timeout: float | None = None) -> int:
        """Wait until the process ends and return its exit code.

        Raises ``subprocess.TimeoutExpired`` when it still runs after
        ``timeout`` seconds.
        """
        if self.process is None:
            raise RuntimeError(f"{self.name} was not started")
        return self.process.wait(timeout)

    def check_running(self) -> None:
        """Raise if the process has ended."""
        if self.process is None or self.process.poll() is not None:
            where = "" if self.log_path is None else f"; see {self.log_path}"
            raise RuntimeError(
                f"{self.name} is not running (exit code {self.returncode}){where}"
            )

    def stop(self, timeout: float = 60) -> None:
        """Ask the process to stop (SIGTERM), kill it if it does not."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


class Sandbox(Service):
    """The sipgate sandbox (``python -m sipgate_lab.sandbox``) on loopback."""

    def __init__(self, port: int, log_path: Path | None) -> None:
        """Prepare the sandbox on ``port``."""
        super().__init__(
            "The sipgate sandbox",
            [sys.executable, "-m", "sipgate_lab.sandbox", "--port", str(port)],
            log_path,
        )
        self.port = port
        self.url = f"http://{LOOPBACK}:{port}"

    def start(self, timeout: float = 60) -> None:
        """Start the sandbox and wait until it answers."""
        self.start_listening(
            self.port, f"{self.url}/_sandbox/scenario", "the sipgate sandbox", timeout
        )

    @property
    def api_url(self) -> str:
        """Return the API base URL, as the integration's base_url."""
        return f"{self.url}/v2"

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """Use a control endpoint, such as ``GET /_sandbox/requests``."""
        return http_json(method, f"{self.url}/_sandbox/{path}", body)

    def push_public_key(self) -> str:
        """Return the public key the sandbox signs its pushes with (PEM)."""
        url = f"{self.url}/_sandbox/push/key"
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310
            return str(response.read().decode())

    def requests(self, method: str, path: str) -> list[dict[str, Any]]:
        """Return the recorded API requests with this method and path."""
        return [
            request
            for request in self.control("GET", "requests")
            if request["method"] == method and request["path"] == path
        ]

    def calls(self) -> list[dict[str, Any]]:
        """Return the recorded ``POST /v2/sessions/calls`` requests."""
        return self.requests("POST", "/v2/sessions/calls")

    def sms(self) -> list[dict[str, Any]]:
        """Return the recorded ``POST /v2/sessions/sms`` requests."""
        return self.requests("POST", "/v2/sessions/sms")


class HomeAssistant(Service):
    """A real ``hass`` on loopback with a configuration directory."""

    def __init__(self, config_dir: Path, port: int, log_path: Path | None) -> None:
        """Prepare Home Assistant for ``config_dir``, listening on ``port``."""
        env = {**os.environ, "SSL_CERT_FILE": CA_BUNDLE}
        hass = Path(sys.executable).with_name("hass")
        super().__init__(
            "Home Assistant",
            [str(hass), "--config", str(config_dir)],
            log_path,
            env,
        )
        self.config_dir = config_dir
        self.port = port
        self.url = f"http://{LOOPBACK}:{port}"
        self.client_id = f"{self.url}/"
        self.redirect_uri = f"{self.url}/?auth_callback=1"

    def prepare(self, configuration: str | None = None) -> None:
        """Fill the configuration directory with what is missing.

        That is ``configuration.yaml`` (``configuration`` when given, which
        replaces the file), the integration of this working tree as
        ``custom_components/sipgate`` (a symbolic link) and, always written
        anew, the HTTP settings: loopback only, on this port. Home Assistant
        keeps those in ``.storage/http``; it would move an ``http:`` YAML
        section there once and then want it confirmed in the UI.
        """
        self.config_dir.mkdir(parents=True, exist_ok=True)
        if configuration is not None:
            (self.config_dir / "configuration.yaml").write_text(
                configuration, encoding="utf-8"
            )
        link = self.config_dir / "custom_components" / "sipgate"
        link.parent.mkdir(exist_ok=True)
        if not link.is_symlink():
            link.symlink_to(os.path.relpath(INTEGRATION, link.parent))
        http_store = self.config_dir / ".storage" / HTTP_STORAGE_KEY
        http_store.parent.mkdir(exist_ok=True)
        settings = HTTP_STORAGE_SCHEMA(
            {"server_host": [LOOPBACK], "server_port": self.port}
        )
        http_store.write_text(
            json.dumps(
                {
                    "version": HTTP_STORAGE_VERSION,
                    "minor_version": HTTP_STORAGE_MINOR_VERSION,
                    "key": HTTP_STORAGE_KEY,
                    "data": {
                        "stable": {
                            **settings,
                            "created_at": datetime.now(UTC).isoformat(),
                            "error": None,
                            "error_message": None,
                        },
                        "pending": None,
                        "yaml_migration_done": True,
                    },
                },
                indent=2,
            ),
            encoding="utf-8",
        )

    def start(self, timeout: float = 300) -> None:
        """Start ``hass`` and wait until its HTTP server answers.

        It answers once the frontend and onboarding are set up; integrations
        may still be starting (see ``wait_until_running``).
        """
        self.start_listening(
            self.port, f"{self.url}/api/onboarding", "Home Assistant", timeout
        )

    @property
    def restart_requested(self) -> bool:
        """Return whether hass ended because a restart was asked for."""
        return self.returncode == RESTART_EXIT_CODE

    def wait_until_running(self, token: str, timeout: float = 300) -> None:
        """Wait until Home Assistant has finished starting."""

        def running() -> bool:
            self.check_running()
            try:
                state = self.api("GET", "/api/core/state", token=token)
            except HTTPError as err:
                if err.status == HTTPStatus.NOT_FOUND:  # The API is not set up yet.
                    return False
                raise
            return bool(state["state"] == "RUNNING")

        wait_for(running, "Home Assistant to finish starting", timeout)

    def api(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        form: dict[str, str] | None = None,
    ) -> Any:
        """Call Home Assistant's HTTP API and return the decoded answer."""
        return http_json(method, f"{self.url}{path}", body, token=token, form=form)

    def onboarded(self) -> bool:
        """Return whether all onboarding steps are done."""
        try:
            steps = self.api("GET", "/api/onboarding")
        except HTTPError as err:
            # Home Assistant drops the onboarding API once onboarding is done.
            if err.status == HTTPStatus.NOT_FOUND:
                return True
            raise
        return all(step["done"] for step in steps)

    def onboard(self, name: str, username: str, password: str) -> dict[str, Any]:
        """Onboard with an administrator as the UI does; return their tokens."""
        answer = self.api(
            "POST",
            "/api/onboarding/users",
            {
                "client_id": self.client_id,
                "name": name,
                "username": username,
                "password": password,
                "language": "en",
            },
        )
        tokens = self._tokens(answer["auth_code"])
        token = tokens["access_token"]
        self.api("POST", "/api/onboarding/core_config", {}, token=token)
        self.api("POST", "/api/onboarding/analytics", {}, token=token)
        self.api(
            "POST",
            "/api/onboarding/integration",
            {"client_id": self.client_id, "redirect_uri": self.redirect_uri},
            token=token,
        )
        return tokens

    def login(self, username: str, password: str) -> dict[str, Any]:
        """Log in through the login flow; return the tokens."""
        flow = self.api(
            "POST",
            "/auth/login_flow",
            {
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": self.redirect_uri,
            },
        )
        result = self.api(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            {"client_id": self.client_id, "username": username, "password": password},
        )
        if result.get("type") != "create_entry":
            raise RuntimeError(f"Home Assistant refused the login of {username}")
        return self._tokens(result["result"])

    def revoke(self, tokens: dict[str, Any]) -> None:
        """Revoke a login's refresh token (and so its access tokens)."""
        self.api("POST", "/auth/revoke", form={"token": tokens["refresh_token"]})

    def _tokens(self, code: str) -> dict[str, Any]:
        """Exchange an authorization code for tokens."""
        tokens: dict[str, Any] = self.api(
            "POST",
            "/auth/token",
            form={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": self.client_id,
            },
        )
        return tokens

    def config_entries(self, token: str, domain: str) -> list[dict[str, Any]]:
        """Return the config entries of a domain."""
        entries: list[dict[str, Any]] = self.api(
            "GET", f"/api/config/config_entries/entry?domain={domain}", token=token
        )
        return entries

    def subentries(
        self, token: str, entry_id: str, subentry_type: str
    ) -> list[dict[str, Any]]:
        """Return a config entry's subentries of a type, such as its contacts."""
        (subentries,) = self.websocket(
            token, {"type": "config_entries/subentries/list", "entry_id": entry_id}
        )
        return [
            subentry
            for subentry in subentries
            if subentry["subentry_type"] == subentry_type
        ]

    def entity_ids(
        self, token: str, entry_id: str, subentry_id: str | None = None
    ) -> dict[str, str]:
        """Return the entity IDs of a config entry by their translation keys.

        Those of the entry itself (the account's: ``call_state``, ``balance``,
        ...) or, with ``subentry_id``, those of one of its subentries (a
        contact's: ``call``, ``sms``). The IDs come from the entity registry:
        Home Assistant derives them from names, which tests need not guess.
        """
        (entities,) = self.websocket(token, {"type": "config/entity_registry/list"})
        return {
            entity["translation_key"]: entity["entity_id"]
            for entity in entities
            if entity["config_entry_id"] == entry_id
            and entity["config_subentry_id"] == subentry_id
        }

    def websocket(self, token: str, *commands: dict[str, Any]) -> list[Any]:
        """Send commands over the WebSocket API and return their results."""

        async def session() -> list[Any]:
            results = []
            async with (
                aiohttp.ClientSession() as client,
                client.ws_connect(f"{self.url}/api/websocket") as ws,
            ):
                await ws.receive_json()
                await ws.send_json({"type": "auth", "access_token": token})
                if (await ws.receive_json())["type"] != "auth_ok":
                    raise RuntimeError("Home Assistant refused the access token")
                for number, command in enumerate(commands, 1):
                    await ws.send_json({**command, "id": number})
                    answer = await ws.receive_json()
                    if not answer["success"]:
                        raise RuntimeError(f"{command['type']}: {answer['error']}")
                    results.append(answer["result"])
            return results

        # In a thread of its own: the caller may have an event loop of its own
        # (Playwright's synchronous API has one).
        with concurrent.futures.ThreadPoolExecutor(1) as executor:
            return executor.submit(asyncio.run, session()).result()


def refuse_if_in_use(port: int, name: str) -> None:
    """Raise if something already listens on the loopback ``port``."""
    try:
        socket.create_connection((LOOPBACK, port), timeout=5).close()
    except OSError:
        return
    raise RuntimeError(f"{name} cannot start: port {port} is already in use")


class HTTPError(RuntimeError):
    """An HTTP error status, with the answer."""

    def __init__(self, method: str, url: str, status: int, text: str) -> None:
        """Keep the status and the answer."""
        super().__init__(f"{method} {url} answered {status}: {text[:500]}")
        self.status = status
        self.text = text


def http_json(
    method: str,
    url: str,
    body: Any = None,
    *,
    token: str | None = None,
    form: dict[str, str] | None = None,
) -> Any:
    """Send a JSON (or form) request and return the decoded JSON answer.

    Raises ``HTTPError`` for HTTP error statuses and ``OSError`` when nothing
    answers.
    """
    headers = {"Accept": "application/json"}
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data, headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            text = response.read().decode()
    except urllib.error.HTTPError as err:
        raise HTTPError(method, url, err.code, err.read().decode()) from None
    return json.loads(text) if text else None


def sipgate_call_dashboard(callee: str, entry_id: str) -> dict[str, Any]:
    """Return a dashboard with a button that calls ``callee`` with an entry."""
    return {
        "title": "sipgate",
        "views": [
            {
                "title": "Call",
                "path": "call",
                "cards": [
                    {
                        "type": "button",
                        "name": f"Call {callee}",
                        "icon": "mdi:phone",
                        "show_state": False,
                        "tap_action": {
                            "action": "perform-action",
                            "perform_action": "sipgate.initiate_call",
                            "data": {"callee": callee, "config_entry_id": entry_id},
                        },
                    }
                ],
            }
        ],
    }


def save_dashboard(
    hass: HomeAssistant, token: str, url_path: str, title: str, config: Any
) -> None:
    """Create a dashboard in the sidebar (unless it exists) and save its cards."""
    (dashboards,) = hass.websocket(token, {"type": "lovelace/dashboards/list"})
    commands: list[dict[str, Any]] = []
    if not any(dashboard["url_path"] == url_path for dashboard in dashboards):
        commands.append(
            {
                "type": "lovelace/dashboards/create",
                "url_path": url_path,
                "title": title,
                "icon": "mdi:phone",
                "show_in_sidebar": True,
            }
        )
    commands.append(
        {"type": "lovelace/config/save", "url_path": url_path, "config": config}
    )
    hass.websocket(token, *commands)
