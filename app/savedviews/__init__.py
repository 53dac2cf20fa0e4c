"""Saved views: named question-list filters shown as columns on /views (docs/saved-views.md)."""
