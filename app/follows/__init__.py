"""Following products, tags, questions and people; @mentions (docs/notifications.md)."""
