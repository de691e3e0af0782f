"""The schema library of the running Home Assistant.

Home Assistant validates with probatio since it replaced voluptuous (the same
API); releases before that ship only voluptuous.
"""

try:
    import probatio as vol
except ImportError:  # Home Assistant before probatio
    import voluptuous as vol  # type: ignore[no-redef]

__all__ = ["vol"]
