"""The calls of a sipgate account, as sipgate's pushes describe them.

The tracker keeps the account's active calls, tells the entities when they
change and fires the call events. Pushes get lost in practice (no ``hangup``
after a voicemail, or at all), so calls also end by themselves: ringing or
dialing ones after RINGING_LIMIT, answered ones after TALKING_LIMIT, or
earlier when sipgate lists no established call any more.
"""

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later, async_track_time_interval
from homeassistant.util import dt as dt_util

from .api import SipgateError, SipgateForbiddenError
from .const import LOGGER
from .push import EVENT_ANSWER, EVENT_HANGUP, EVENT_NEW_CALL, Push

STATE_IDLE: Final = "idle"
STATE_RINGING: Final = "ringing"
STATE_DIALING: Final = "dialing"
STATE_TALKING: Final = "talking"
CALL_STATES: Final = [STATE_IDLE, STATE_RINGING, STATE_DIALING, STATE_TALKING]

EVENT_INCOMING: Final = "incoming"
EVENT_OUTGOING: Final = "outgoing"
EVENT_ANSWERED: Final = "answered"
EVENT_ENDED: Final = "ended"
EVENT_MISSED: Final = "missed"
EVENT_TYPES: Final = [
    EVENT_INCOMING,
    EVENT_OUTGOING,
    EVENT_ANSWERED,
    EVENT_ENDED,
    EVENT_MISSED,
]
DIRECTION_INCOMING: Final = "incoming"
DIRECTION_OUTGOING: Final = "outgoing"
# The cause of calls that ended without a hangup push.
CAUSE_EXPIRED: Final = "expired"

RINGING_LIMIT: Final = timedelta(minutes=5)
TALKING_LIMIT: Final = timedelta(hours=6)
# How often sipgate's list of established calls is asked while calls are
# answered (only with the rtcm:read scope).
ACTIVE_CHECK_INTERVAL: Final = timedelta(minutes=2)
# The longest a call event waits for the caller's name.
NAME_TIMEOUT: Final = 2.0
_NAMES_KEPT: Final = 256

type NameLookup = Callable[[str], Awaitable[str | None]]
type ActiveCalls = Callable[[], Awaitable[set[str]]]
type EventListener = Callable[[str, dict[str, Any]], None]
type TaskStarter = Callable[[Coroutine[Any, Any, None], str], asyncio.Task[None]]


@dataclass(kw_only=True)
class Call:
    """An active call."""

    call_id: str
    direction: str
    from_number: str | None
    to_number: str | None
    caller_name: str | None
    state: str
    started: datetime
    answered_by: str | None = None

    def attributes(self) -> dict[str, Any]:
        """Return what entities and events tell about the call."""
        return {
            "call_id": self.call_id,
            "direction": self.direction,
            "from": self.from_number,
            "to": self.to_number,
            "caller_name": self.caller_name,
        }


class CallTracker:
    """The active calls of one sipgate account."""

    def __init__(
        self,
        hass: HomeAssistant,
        *,
        start_task: TaskStarter,
        name_lookup: NameLookup,
        active_calls: ActiveCalls,
        contact_names: Mapping[str, str] | None = None,
    ) -> None:
        """Keep how to look up names and list established calls.

        ``contact_names`` are the integration's own contacts by number; they
        name callers before sipgate's contacts are asked.
        """
        self._hass = hass
        self._start_task = start_task
        self._contact_names = contact_names or {}
        self._name_lookup: NameLookup | None = name_lookup
        self._active_calls = active_calls
        # False once sipgate refused to list the calls (no rtcm:read).
        self._may_list_calls = True
        self.calls: dict[str, Call] = {}
        self._names: OrderedDict[str, str | None] = OrderedDict()
        self._pending: dict[str, asyncio.Task[None]] = {}
        self._expiry: dict[str, CALLBACK_TYPE] = {}
        self._check: CALLBACK_TYPE | None = None
        self._listeners: list[CALLBACK_TYPE] = []
        self._event_listeners: list[EventListener] = []

    @property
    def current(self) -> Call | None:
        """Return the call that started last, if any is active."""
        return next(reversed(self.calls.values()), None)

    @property
    def state(self) -> str:
        """Return the state of the current call, or idle."""
        return STATE_IDLE if (call := self.current) is None else call.state

    @callback
    def async_add_listener(self, listener: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call ``listener`` when calls change; return how to stop that."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @callback
    def async_add_event_listener(self, listener: EventListener) -> CALLBACK_TYPE:
        """Call ``listener`` with each call event; return how to stop that."""
        self._event_listeners.append(listener)
        return lambda: self._event_listeners.remove(listener)

    @callback
    def async_handle(self, push: Push) -> None:
        """Take a verified push; what follows from it runs in a task.

        The events of one call are handled in order: ``answer`` and
        ``hangup`` wait until its ``newCall`` is done (which may wait up to
        NAME_TIMEOUT for the caller's name).
        """
        if push.event == EVENT_NEW_CALL:
            if push.call_id in self.calls or push.call_id in self._pending:
                return
            task = self._start_task(self._async_new_call(push), "sipgate new call")
            self._pending[push.call_id] = task
            task.add_done_callback(lambda _: self._pending.pop(push.call_id, None))
        elif push.event in (EVENT_ANSWER, EVENT_HANGUP):
            self._start_task(self._async_follow_up(push), f"sipgate {push.event}")

    @callback
    def async_end_gone(self, call_id: str) -> None:
        """End a call sipgate no longer knows, as if its hangup push expired."""
        if (call := self.calls.get(call_id)) is not None:
            self._end(call, CAUSE_EXPIRED)

    @callback
    def async_stop(self) -> None:
        """Cancel the timers; the entry's tasks end with the entry."""
        for cancel in self._expiry.values():
            cancel()
        self._expiry.clear()
        self._stop_check()

    @callback
    def _stop_check(self) -> None:
        """Stop asking sipgate for its list of established calls."""
        if self._check is not None:
            self._check()
            self._check = None

    async def _async_new_call(self, push: Push) -> None:
        """Add a ringing (incoming) or dialing (outgoing) call."""
        incoming = push.direction != "out"
        other = push.from_number if incoming else push.to_number
        call = Call(
            call_id=push.call_id,
            direction=DIRECTION_INCOMING if incoming else DIRECTION_OUTGOING,
            from_number=push.from_number,
            to_number=push.to_number,
            caller_name=self._contact_names.get(other or "")
            or await self._async_name(other),
            state=STATE_RINGING if incoming else STATE_DIALING,
            started=dt_util.utcnow(),
        )
        self.calls[call.call_id] = call
        self._expire_after(call, RINGING_LIMIT)
        self._fire(EVENT_INCOMING if incoming else EVENT_OUTGOING, call.attributes())
        self._changed()

    async def _async_follow_up(self, push: Push) -> None:
        """Apply ``answer`` or ``hangup`` after the call's ``newCall``."""
        if (pending := self._pending.get(push.call_id)) is not None:
            await asyncio.shield(pending)
        call = self.calls.get(push.call_id)
        if push.event == EVENT_HANGUP:
            if call is not None:
                self._end(call, push.cause)
            return
        if call is None:  # its newCall came before Home Assistant started
            incoming = push.direction != "out"
            call = Call(
                call_id=push.call_id,
                direction=DIRECTION_INCOMING if incoming else DIRECTION_OUTGOING,
                from_number=push.from_number,
                to_number=push.to_number,
                caller_name=None,
                state=STATE_TALKING,
                started=dt_util.utcnow(),
            )
            self.calls[call.call_id] = call
        call.state = STATE_TALKING
        call.answered_by = push.answered_by or push.answering_number
        self._expire_after(call, TALKING_LIMIT)
        if self._check is None and self._may_list_calls:
            self._check = async_track_time_interval(
                self._hass,
                self._async_check_active,
                ACTIVE_CHECK_INTERVAL,
                cancel_on_shutdown=True,
            )
        self._fire(
            EVENT_ANSWERED, {**call.attributes(), "answered_by": call.answered_by}
        )
        self._changed()

    @callback
    def _end(self, call: Call, cause: str | None) -> None:
        """End a call: missed when it came in and was never answered."""
        self.calls.pop(call.call_id, None)
        if (cancel := self._expiry.pop(call.call_id, None)) is not None:
            cancel()
        missed = call.direction == DIRECTION_INCOMING and call.state != STATE_TALKING
        self._fire(
            EVENT_MISSED if missed else EVENT_ENDED,
            {**call.attributes(), "cause": cause, "answered_by": call.answered_by},
        )
        if not any(other.state == STATE_TALKING for other in self.calls.values()):
            self._stop_check()
        self._changed()

    @callback
    def _expire_after(self, call: Call, limit: timedelta) -> None:
        """End the call with cause ``expired`` unless it changes before."""
        if (cancel := self._expiry.pop(call.call_id, None)) is not None:
            cancel()

        @callback
        def expire(now: datetime) -> None:
            self._expiry.pop(call.call_id, None)
            LOGGER.debug("A call ended without a hangup push after %s", limit)
            self._end(call, CAUSE_EXPIRED)

        self._expiry[call.call_id] = async_call_later(self._hass, limit, expire)

    async def _async_check_active(self, now: datetime) -> None:
        """End answered calls when sipgate lists no established call at all.

        Only an empty list is trusted: whether sipgate lists a call under the
        id of its pushes is not documented.
        """
        try:
            active = await self._active_calls()
        except SipgateForbiddenError:
            LOGGER.debug("The token may not list active calls (rtcm:read)")
            self._may_list_calls = False
            self._stop_check()
            return
        except SipgateError as err:
            LOGGER.debug("sipgate did not list the active calls: %s", err)
            return
        if not active:
            for call in [c for c in self.calls.values() if c.state == STATE_TALKING]:
                self._end(call, CAUSE_EXPIRED)

    async def _async_name(self, number: str | None) -> str | None:
        """Return the contact name of a number, from sipgate or the cache.

        Without the contacts:read scope there are no names and no errors;
        a lookup that fails or takes longer than NAME_TIMEOUT gives no name.
        """
        if number is None or self._name_lookup is None:
            return None
        if number in self._names:
            self._names.move_to_end(number)
            return self._names[number]
        try:
            async with asyncio.timeout(NAME_TIMEOUT):
                name = await self._name_lookup(number)
        except SipgateForbiddenError:
            LOGGER.debug("The token may not read contacts (contacts:read)")
            self._name_lookup = None
            return None
        except (SipgateError, TimeoutError) as err:
            LOGGER.debug("No caller name from sipgate: %s", type(err).__name__)
            return None
        self._names[number] = name
        if len(self._names) > _NAMES_KEPT:
            self._names.popitem(last=False)
        return name

    @callback
    def _fire(self, event_type: str, attributes: dict[str, Any]) -> None:
        """Tell the event listeners."""
        for listener in list(self._event_listeners):
            listener(event_type, attributes)

    @callback
    def _changed(self) -> None:
        """Tell the state listeners."""
        for listener in list(self._listeners):
            listener()
