"""Fixtures for the reputation tests: the JSON API helpers (login, count, fetch) are shared."""

from tests.api.conftest import count, fetch, login  # noqa: F401  (fixtures)
