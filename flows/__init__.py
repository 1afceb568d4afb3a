"""Prefect flows: orchestration only (arrive with the audiobook and transcript issues); the CLI lives here."""
