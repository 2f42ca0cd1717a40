"""How ``crossdock config init`` writes an Amazon channel."""

from __future__ import annotations

from crossdock.platforms.spec import ConfigTemplate

TEMPLATE = ConfigTemplate(
    about="# Amazon SP-API: one channel per marketplace of the seller ({mp}). getOrders allows one call a\n"
          "# minute per seller; channels of one seller and region share it (one call reads them all).",
    options_about="# Amazon settings of this channel (docs/configuration.md lists them all).",
    # getOrders restores one call a minute per seller (docs/platform-facts.md#amazon-usage-plans)
    orders_every_s=60,
    example=(
        "# [channels.amazon-de]",
        '# platform = "amazon"',
        '# account = "A1SELLERID"                          # Seller Central merchant token',
        '# marketplace = "A1PA6795UKMFR9"                  # amazon.de',
        '# currency = "EUR"',
        '# country = "DE"',
        '# client_id = "amzn1.application-oa2-client.…"',
        '# client_secret = {env = "AMAZON_LWA_CLIENT_SECRET"}',
        '# refresh_token = {encrypted = "…"}',
        "# intervals_s = { orders = 60 }",
    ),
)
