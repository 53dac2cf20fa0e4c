"""Moderation: flags, hidden posts, the first-posts review queue, spam defence, suspensions,
locked and protected threads, and one append-only audit log (docs/moderation.md)."""
