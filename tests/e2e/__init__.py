"""End-to-end tests: a real Home Assistant and a browser."""
