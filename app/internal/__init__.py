"""The internal space ("Blue Shirt Nation", issue 18): staff-only questions and their links
from public threads and escalations (docs/internal.md)."""
