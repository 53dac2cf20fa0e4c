"""Outgoing e-mail: the outbox table, templates, the sender the worker runs, account tokens and
per-kind delivery preferences (docs/notifications.md)."""
