"""Custom integrations of this repository (only sipgate)."""
