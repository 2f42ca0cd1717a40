"""How ``crossdock config init`` writes a Shopify channel."""

from __future__ import annotations

from crossdock.platforms.spec import ConfigTemplate

TEMPLATE = ConfigTemplate(
    about="# Shopify shop {account}: Admin GraphQL API; refresh tokens rotate on every use (crossdock stores the\n"
          "# newest one itself, the one below is only the first).",
    options_about="# The Admin API version and the location whose stock crossdock sets.",
    orders_every_s=30,
    example=(
        "# [channels.shopify-myshop]",
        '# platform = "shopify"',
        '# account = "myshop"                              # myshop.myshopify.com',
        '# currency = "EUR"',
        '# client_id = "…"',
        '# client_secret = {encrypted = "…"}',
        '# refresh_token = {encrypted = "…"}',
    ),
)
