"""How ``crossdock config init`` writes an eBay channel."""

from __future__ import annotations

from crossdock.platforms.spec import ConfigTemplate

TEMPLATE = ConfigTemplate(
    about="# eBay ({mp}): Inventory and Fulfillment APIs with OAuth; the Trading API token reaches listings made\n"
          "# outside the Inventory API. The business policies are needed to publish new listings.",
    options_about="# dev_id: the application's Dev ID (Trading API). The location and business policies (Seller Hub >\n"
                  "# Account > Business policies) that new offers are published with.",
    orders_every_s=30,
    example=(
        "# [channels.ebay-gb]",
        '# platform = "ebay"',
        '# account = "seller_user_name"',
        '# marketplace = "EBAY_GB"',
        '# currency = "GBP"',
        '# client_id = "App-ID"',
        '# client_secret = {encrypted = "…"}                # Cert ID',
        '# refresh_token = {encrypted = "…"}',
        "#",
        "# [channels.ebay-gb.options]                     # the Dev ID and the business policies new offers use",
        '# dev_id = "…"',
        '# merchant_location_key = "default"',
        '# fulfillment_policy_id = "…"',
        '# payment_policy_id = "…"',
        '# return_policy_id = "…"',
    ),
)
