"""Which scope an API-key request needs: one table for every /api/v1 route.

A request authenticated with `X-API-Key` acts as the key's owner and may do only what its scopes
allow, on top of whatever the owner's role allows (services still authorise). `required_scope`
maps (method, route template) to a scope; None means keys may not do it at all (managing keys:
a person must sign in). tests/api/test_api_keys.py walks every route of the app through it.

Scopes (the standard vocabulary of Discourse's scoped keys and Stack Exchange's access scopes):
"""

from __future__ import annotations

import re

SCOPES: dict[str, str] = {
    "read": "read public questions, answers, products, users, tags, search and similar questions",
    "ask": "post questions (as the key's owner: the product site's own account)",
    "deflect": "record \"this solved it\" on a question (widget deflections)",
    "escalations:read": "read the escalation queue and its metrics (owner must be staff)",
    "escalations:write": "claim, annotate, hand off and resolve escalations: post a fix back (owner must be staff)",
    "moderation": "the moderator's tools: flag queue, review queue, audit log, suspensions, roles, destroying "
                  "spammers, locking and protecting threads (owner must be a moderator or staff)",
    "webhooks:manage": "register, change and redeliver webhooks (owner must be an admin)",
    "internal": "see the internal (staff-only) space as its owner (owner must be staff); without it a key never "
                "sees an internal question, whoever owns it (docs/internal.md)",
    "write": "everything else a signed-in member does: answers, comments, votes, edits, flags",
}

API = "/api/v1"
# The moderators' own resources: the flag and review queues, the audit log, blocked addresses and
# the serial-voting / sock-puppet reports (app/reputation/gaming.py).
_MODERATION_PREFIXES = ("/moderation/", "/voting-reports")
# Moderator actions on a member or a thread (flagging a post is "write": any member may).
_MODERATION_ACTION = re.compile(r"^/(users/\{username\}/(suspend|destroy|role)|questions/\{question_id\}/(lock|protect))$")


def required_scope(method: str, path: str) -> str | None:
    """The scope a key needs for `method` on the route template `path` (e.g.
    "/api/v1/questions/{question_id}"); None when no key may call it."""
    method = method.upper()
    p = path[len(API):] if path.startswith(API) else path
    if p.startswith("/api-keys") or p.startswith("/auth/") or p in ("/me/password", "/me/email", "/me/verify-email",
                                                                    "/me/export"):
        return None  # credentials, the account's address and its data export are a person's business
    if p == "/me" and method == "DELETE":
        return None  # so is deleting the account
    if p.startswith("/webhooks"):
        return "webhooks:manage"
    if p.startswith(_MODERATION_PREFIXES) or _MODERATION_ACTION.match(p):
        return "moderation"  # the audit log, the queues and voting reports name members and reasons: not "read"
    if method in ("GET", "HEAD", "OPTIONS"):
        if p.startswith("/escalations"):
            return "escalations:read"
        return "read"
    if p == "/questions" and method == "POST":
        return "ask"
    if p == "/questions/{question_id}/deflect":
        return "deflect"
    if p.startswith("/escalations/"):
        return "escalations:write"
    return "write"
