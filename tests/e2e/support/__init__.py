"""Helpers shared by the end-to-end tests: processes, HTTP client, TOTP oracle, Table REST."""
