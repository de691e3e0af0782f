"""Constants of the sipgate integration."""

import logging
from typing import Final

DOMAIN: Final = "sipgate"
LOGGER: Final = logging.getLogger(__package__)

CONF_TOKEN_ID: Final = "token_id"  # noqa: S105
CONF_BASE_URL: Final = "base_url"
CONF_DEVICE_ID: Final = "device_id"
CONF_CALLER_ID: Final = "caller_id"
CONF_CLOUDHOOK_URL: Final = "cloudhook_url"
CONF_PUSH_PUBLIC_KEY: Final = "push_public_key"
CONF_SMS_ID: Final = "sms_id"
CONF_NUMBER: Final = "number"

# The SMS extension every sipgate user has.
DEFAULT_SMS_ID: Final = "s0"
# Config subentries: people to call and text.
SUBENTRY_CONTACT: Final = "contact"

ATTR_CALLEE: Final = "callee"
ATTR_CALLER: Final = "caller"
ATTR_DEVICE_ID: Final = "device_id"
ATTR_CALLER_ID: Final = "caller_id"
ATTR_SESSION_ID: Final = "session_id"
ATTR_CALL_ID: Final = "call_id"
ATTR_HUNG_UP: Final = "hung_up"
ATTR_RECIPIENT: Final = "recipient"
ATTR_MESSAGE: Final = "message"
ATTR_SMS_ID: Final = "sms_id"
ATTR_SEND_AT: Final = "send_at"

SERVICE_INITIATE_CALL: Final = "initiate_call"
SERVICE_HANGUP_CALL: Final = "hangup_call"
SERVICE_SEND_SMS: Final = "send_sms"
