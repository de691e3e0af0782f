"""The webhook as an attacker and a bad network meet it."""

from collections.abc import Callable
import logging
import socket
import time
from typing import Any

import aiohttp
from aiohttp.base_protocol import BaseProtocol
from aiohttp.streams import StreamReader
from aiohttp.test_utils import make_mocked_request
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.sipgate import push_receiver
from custom_components.sipgate.const import CONF_PUSH_PUBLIC_KEY, DOMAIN
from custom_components.sipgate.push import MAX_BODY
from custom_components.sipgate.push_receiver import REFUSALS_FOR_ISSUE
from homeassistant.const import CONF_WEBHOOK_ID, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from sipgate_lab.sandbox import TOKEN, TOKEN_OTHER_USER, SipgateSandbox

from .conftest import entry_for

STATE = "sensor.sipgate_1234567w0_call_state"
NEW_CALL = [
    ("event", "newCall"),
    ("direction", "in"),
    ("from", "492111234567"),
    ("to", "4921199990"),
    ("callId", "CA11"),
    ("origCallId", "CA11"),
    ("user[]", "Erika Mustermann"),
]


def warning_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Return the messages of the warnings logged."""
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def assert_no_secret_logged(caplog: pytest.LogCaptureFixture, secret: str) -> None:
    """No warning, and nothing the integration logs, contains the secret.

    Home Assistant's HTTP server and aiohttp name every path in debug and
    access logs; those are not the integration's.
    """
    for record in caplog.records:
        if record.levelno >= logging.WARNING or record.name.startswith(
            "custom_components.sipgate"
        ):
            assert secret not in record.getMessage()


async def settle(hass: HomeAssistant) -> None:
    """Wait until the pushes are handled (in the entry's background tasks)."""
    await hass.async_block_till_done(wait_background_tasks=True)


def call_state(hass: HomeAssistant) -> str:
    """Return the call state sensor's state."""
    state = hass.states.get(STATE)
    assert state is not None
    return state.state


async def test_new_call_is_answered_at_once(
    hass: HomeAssistant, push_url: str, sandbox: SipgateSandbox
) -> None:
    """The XML answer comes before the (slow) name lookup: no I/O first."""
    sandbox.scenario.delay = 1.5
    started = time.monotonic()
    status, text, content_type = await sandbox.send_push(push_url, NEW_CALL)
    assert time.monotonic() - started < 1.0
    assert status == 200
    assert content_type.startswith("application/xml")
    assert text == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Response onAnswer="{push_url}" onHangup="{push_url}"/>\n'
    )
    await settle(hass)
    assert call_state(hass) == "ringing"


@pytest.mark.parametrize(
    ("body", "signature"),
    [
        (NEW_CALL, None),
        (NEW_CALL, ""),
        (NEW_CALL, "garbage!"),
        (NEW_CALL, "QUJDRA=="),
    ],
)
async def test_unsigned_or_badly_signed_push(
    hass: HomeAssistant,
    push_url: str,
    sandbox: SipgateSandbox,
    body: list[tuple[str, str]],
    signature: str | None,
) -> None:
    """No or a garbled signature: 401, nothing changes."""
    status, text, _ = await sandbox.send_push(push_url, body, signature=signature)
    await settle(hass)
    assert (status, text) == (401, "")
    assert call_state(hass) == "idle"


async def test_tampered_push(
    hass: HomeAssistant, push_url: str, sandbox: SipgateSandbox
) -> None:
    """A signed push with a changed body: 401."""
    signature = sandbox.sign(b"event=newCall&callId=CA11")
    status, _, _ = await sandbox.send_push(
        push_url, b"event=newCall&callId=CA12", signature=signature
    )
    assert status == 401


async def test_push_signed_with_another_key(
    hass: HomeAssistant,
    sandbox: SipgateSandbox,
    sandbox_url: str,
    hass_client_no_auth: Callable[[], Any],
) -> None:
    """An entry with sipgate's key refuses the sandbox's signature."""
    entry = entry_for(sandbox_url)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    client = await hass_client_no_auth()
    url = str(client.make_url(f"/api/webhook/{entry.data[CONF_WEBHOOK_ID]}"))
    status, _, _ = await sandbox.send_push(url, NEW_CALL)
    assert status == 401
    assert call_state(hass) == "idle"


@pytest.mark.parametrize("chunked", [False, True])
async def test_oversized_push(
    hass: HomeAssistant,
    push_url: str,
    sandbox: SipgateSandbox,
    caplog: pytest.LogCaptureFixture,
    chunked: bool,
) -> None:
    """Over 16 KiB: 413, with or without a Content-Length; the warning says so."""
    body = b"event=newCall&callId=CA11&x=" + b"a" * MAX_BODY

    async def chunks() -> Any:
        yield body

    async with (
        aiohttp.ClientSession() as session,
        session.post(
            push_url,
            data=chunks() if chunked else body,
            headers={"X-Sipgate-Signature": sandbox.sign(body)},
        ) as response,
    ):
        assert response.status == 413
    await settle(hass)
    assert call_state(hass) == "idle"
    assert warning_messages(caplog) == [
        (
            "Refused a push to the sipgate webhook of sipgate 1234567w0 "
            "(too large); 1 refused since setup"
        )
    ]


async def test_body_in_pieces_is_read_whole(hass: HomeAssistant) -> None:
    """A body that arrives in pieces is read as a whole."""
    body = b"event=hangup&callId=CA11"
    ours, theirs = socket.socketpair()
    transport, protocol = await hass.loop.connect_accepted_socket(
        lambda: BaseProtocol(hass.loop), ours
    )
    content = StreamReader(protocol, 2**16, loop=hass.loop)
    content.feed_data(body[:10])
    request = make_mocked_request("POST", "/", payload=content)
    reading = hass.loop.create_task(push_receiver._async_read(request))

    def rest() -> None:
        # Once the first piece is read and the reader waits for more.
        content.feed_data(body[10:])
        content.feed_eof()

    hass.loop.call_soon(rest)
    try:
        assert await reading == body
    finally:
        transport.close()
        theirs.close()


async def test_largest_push_is_read(
    hass: HomeAssistant, push_url: str, sandbox: SipgateSandbox
) -> None:
    """A push of exactly 16 KiB is taken."""
    body = b"event=hangup&callId=CA11&x="
    body += b"a" * (MAX_BODY - len(body))
    status, _, _ = await sandbox.send_push(push_url, body)
    assert status == 200


@pytest.mark.parametrize(
    "body",
    [
        [("event", "newCall")],
        [("callId", "CA11")],
        b"\xff\xfe\x00",
        b"event",
    ],
)
async def test_signed_push_that_is_not_one(
    hass: HomeAssistant,
    push_url: str,
    sandbox: SipgateSandbox,
    body: list[tuple[str, str]] | bytes,
) -> None:
    """Signed, but without event or call id, or not a form: 400."""
    status, _, _ = await sandbox.send_push(push_url, body)
    assert status == 400
    await settle(hass)
    assert call_state(hass) == "idle"


@pytest.mark.parametrize("method", ["GET", "PUT"])
async def test_other_methods(
    hass: HomeAssistant,
    push_url: str,
    method: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Only POST; other methods get 405, and no warning shows the webhook id.

    (Home Assistant would log it in a warning if it refused them itself.)
    """
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, push_url) as response,
    ):
        assert response.status == 405
    assert_no_secret_logged(caplog, push_url.rsplit("/", 1)[1])


async def test_unknown_event(
    hass: HomeAssistant, push_url: str, sandbox: SipgateSandbox
) -> None:
    """A verified push of an event the integration does not use: 200, no change."""
    status, text, _ = await sandbox.send_push(
        push_url, [("event", "dtmf"), ("callId", "CA11"), ("dtmf", "1")]
    )
    await settle(hass)
    assert (status, text) == (200, "")
    assert call_state(hass) == "idle"


async def test_replay_changes_nothing(
    hass: HomeAssistant,
    push_entry: MockConfigEntry,
    push_url: str,
    sandbox: SipgateSandbox,
) -> None:
    """The same push again within 10 minutes is answered but ignored."""
    await sandbox.send_push(push_url, NEW_CALL)
    await sandbox.send_push(push_url, [("event", "hangup"), ("callId", "CA11")])
    await settle(hass)
    assert call_state(hass) == "idle"
    first = sandbox.pushes[0]
    status, text, _ = await sandbox.send_push(
        push_url, first.body, signature=first.signature
    )
    await settle(hass)
    assert status == 200
    assert text.startswith("<?xml")
    assert call_state(hass) == "idle"
    assert push_entry.runtime_data.push.replays == 1
    await sandbox.send_push(push_url, first.body, signature=first.signature)
    assert push_entry.runtime_data.push.replays == 2


@pytest.mark.parametrize(
    ("later", "state", "replays", "seen"),
    [
        # After 10 minutes a push counts again, and old ones are forgotten.
        (push_receiver.REPLAY_WINDOW + 1, "ringing", 0, [("newCall", "CA11")]),
        # Exactly REPLAY_WINDOW later a push is still a replay.
        (
            push_receiver.REPLAY_WINDOW,
            "idle",
            1,
            [("newCall", "CA11"), ("hangup", "CA11")],
        ),
    ],
    ids=["after", "at_the_end"],
)
async def test_replay_window(
    hass: HomeAssistant,
    push_entry: MockConfigEntry,
    push_url: str,
    sandbox: SipgateSandbox,
    monkeypatch: pytest.MonkeyPatch,
    later: float,
    state: str,
    replays: int,
    seen: list[tuple[str, str]],
) -> None:
    """A push counts again only after REPLAY_WINDOW."""
    now = 1000.0
    monkeypatch.setattr(push_receiver, "monotonic", lambda: now)
    await sandbox.send_push(push_url, NEW_CALL)
    await sandbox.send_push(push_url, [("event", "hangup"), ("callId", "CA11")])
    now += later
    await sandbox.send_push(push_url, NEW_CALL)
    await settle(hass)
    assert call_state(hass) == state
    assert push_entry.runtime_data.push.replays == replays
    assert list(push_entry.runtime_data.push.seen) == seen


async def test_refusals_warn_once_a_minute_and_raise_an_issue(
    hass: HomeAssistant,
    push_entry: MockConfigEntry,
    push_url: str,
    sandbox: SipgateSandbox,
    caplog: pytest.LogCaptureFixture,
    issue_registry: ir.IssueRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Warnings without content; an issue after several; cleared by a good push."""
    now = 1000.0
    monkeypatch.setattr(push_receiver, "monotonic", lambda: now)
    issue_id = f"pushes_refused_{push_entry.entry_id}"
    for _ in range(REFUSALS_FOR_ISSUE - 1):
        await sandbox.send_push(push_url, NEW_CALL, signature="QUJD")
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        (
            "Refused a push to the sipgate webhook of sipgate 1234567w0 "
            "(wrong signature); 1 refused since setup"
        )
    ]
    now += push_receiver.WARNING_INTERVAL
    await sandbox.send_push(push_url, NEW_CALL, signature=None)
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "pushes_refused"
    assert issue.translation_placeholders == {"account": "sipgate 1234567w0"}
    assert issue.severity is ir.IssueSeverity.WARNING
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings[-1].getMessage().endswith("(no signature); 5 refused since setup")
    for secret in (push_entry.data[CONF_WEBHOOK_ID], "newCall", TOKEN.token):
        assert_no_secret_logged(caplog, secret)
    await sandbox.send_push(push_url, NEW_CALL)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    assert push_entry.runtime_data.push.refused_in_a_row == 0


async def test_malformed_pushes_raise_no_issue(
    hass: HomeAssistant,
    push_entry: MockConfigEntry,
    push_url: str,
    sandbox: SipgateSandbox,
    issue_registry: ir.IssueRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Signed pushes that are not pushes are refused, but sipgate signed them."""
    for _ in range(REFUSALS_FOR_ISSUE):
        await sandbox.send_push(push_url, [("event", "newCall")])
    assert not [key for key in issue_registry.issues if key[0] == DOMAIN]
    assert push_entry.runtime_data.push.refused == REFUSALS_FOR_ISSUE
    assert warning_messages(caplog) == [
        (
            "Refused a push to the sipgate webhook of sipgate 1234567w0 "
            "(no event or call id); 1 refused since setup"
        )
    ]


async def test_two_accounts_two_webhooks(
    hass: HomeAssistant,
    push_entry: MockConfigEntry,
    push_url: str,
    sandbox: SipgateSandbox,
    sandbox_url: str,
) -> None:
    """Each account has its own webhook and entities."""
    other = MockConfigEntry(
        domain=DOMAIN,
        title="sipgate 1234567w1",
        unique_id="1234567w1",
        data={
            **push_entry.data,
            "token_id": TOKEN_OTHER_USER.token_id,
            "token": TOKEN_OTHER_USER.token,
            CONF_WEBHOOK_ID: "0" * 64,
        },
        options={**push_entry.options},
        minor_version=2,
    )
    other.add_to_hass(hass)
    assert await hass.config_entries.async_setup(other.entry_id)
    await settle(hass)
    assert other.data[CONF_WEBHOOK_ID] != push_entry.data[CONF_WEBHOOK_ID]
    other_url = push_url.rsplit("/", 1)[0] + "/" + "0" * 64
    await sandbox.simulate_call(other_url, answer=False, hangup="on_delete")
    await settle(hass)
    assert call_state(hass) == "idle"
    assert hass.states.get("sensor.sipgate_1234567w1_call_state").state == "ringing"  # type: ignore[union-attr]


async def test_unloaded_entry_has_no_webhook(
    hass: HomeAssistant,
    push_entry: MockConfigEntry,
    push_url: str,
    sandbox: SipgateSandbox,
) -> None:
    """After unloading, pushes reach nothing (Home Assistant answers 200)."""
    await hass.config_entries.async_unload(push_entry.entry_id)
    status, text, _ = await sandbox.send_push(push_url, NEW_CALL)
    assert (status, text) == (200, "")
    assert call_state(hass) == STATE_UNAVAILABLE


async def test_no_external_url_no_follow_up(
    hass: HomeAssistant, push_url: str, sandbox: SipgateSandbox
) -> None:
    """Without an address sipgate could reach, no answer/hangup is asked for."""
    await hass.config.async_update(external_url=None)
    status, text, _ = await sandbox.send_push(push_url, NEW_CALL)
    assert status == 200
    assert text == '<?xml version="1.0" encoding="UTF-8"?>\n<Response/>\n'


async def test_key_from_the_options_is_used_at_once(
    hass: HomeAssistant,
    push_entry: MockConfigEntry,
    push_url: str,
    sandbox: SipgateSandbox,
) -> None:
    """Removing the sandbox's key from the options applies to the next push."""
    assert (await sandbox.send_push(push_url, NEW_CALL))[0] == 200
    options = {k: v for k, v in push_entry.options.items() if k != CONF_PUSH_PUBLIC_KEY}
    hass.config_entries.async_update_entry(push_entry, options=options)
    assert (await sandbox.send_push(push_url, NEW_CALL))[0] == 401
