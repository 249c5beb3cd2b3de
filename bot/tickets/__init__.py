"""Escalation stage: human tickets in a real database."""
