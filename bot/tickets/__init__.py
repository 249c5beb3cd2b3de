"""Escalation stage: human tickets in a real database, priority levels, webhook delivery.

Import the modules (bot.tickets.store, .priority, .webhook) directly; this package
imports nothing, so `import bot` stays cheap.
"""
