"""The test lab of the sipgate integration: never shipped, never imported by it.

``sandbox`` simulates sipgate's REST API on loopback; ``home_assistant`` runs a
real Home Assistant and the sandbox as processes. The unit tests, the
end-to-end suite and the scripts in ``scripts/`` use them.
"""
