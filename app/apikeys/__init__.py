"""API keys for product sites: scopes, allowed origins, own rate limit (docs/product-sites.md)."""
