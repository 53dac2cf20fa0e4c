"""Signed webhooks (Standard Webhooks): endpoints, an event outbox, delivery by the worker."""
