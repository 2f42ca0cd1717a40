"""Webhook subscriptions: the topics, the WebhookSubscription resolver and
the mutations that create and delete subscriptions."""

from __future__ import annotations

from crossdock.sandbox.shopify.records import WebhookSub, gid, parse_gid, ts_iso
from crossdock.sandbox.shopify.views.base import Ctx, RootPart

#: GraphQL topic enum -> the REST topic a delivery carries.
WEBHOOK_TOPICS = {"ORDERS_CREATE": "orders/create", "ORDERS_UPDATED": "orders/updated", "ORDERS_PAID": "orders/paid",
                  "ORDERS_CANCELLED": "orders/cancelled", "ORDERS_FULFILLED": "orders/fulfilled",
                  "ORDERS_PARTIALLY_FULFILLED": "orders/partially_fulfilled", "ORDERS_DELETE": "orders/delete",
                  "INVENTORY_LEVELS_UPDATE": "inventory_levels/update",
                  "INVENTORY_LEVELS_CONNECT": "inventory_levels/connect",
                  "INVENTORY_LEVELS_DISCONNECT": "inventory_levels/disconnect",
                  "PRODUCTS_CREATE": "products/create", "PRODUCTS_UPDATE": "products/update"}


class WebhookSubscriptionView:
    __typename = "WebhookSubscription"

    def __init__(self, ctx: Ctx, w: WebhookSub) -> None:
        self.id = gid("WebhookSubscription", w.id)
        self.legacyResourceId = str(w.id)
        self.topic = w.topic
        self.uri = w.uri
        self.format = w.format
        self.includeFields = list(w.include_fields)
        self.filter = w.filter
        self.createdAt = ts_iso(w.created_at)
        self.updatedAt = ts_iso(w.updated_at)


class WebhookMutations(RootPart):
    """Mutation fields on webhook subscriptions."""

    def webhookSubscriptionCreate(self, info, topic: str, webhookSubscription: dict) -> dict:
        ctx, shop = self._ctx, self._ctx.shop
        uri = (webhookSubscription.get("uri") or "").strip()
        path = ["webhookSubscription", "uri"]
        if not (uri.startswith("http://") or uri.startswith("https://")):
            return {"webhookSubscription": None, "userErrors": [{"field": path, "message": "Address is invalid"}]}
        if any(w.topic == topic and w.uri == uri for w in shop.subscriptions.values()):
            return {"webhookSubscription": None, "userErrors": [
                {"field": path, "message": "Address for this topic has already been taken"}]}
        w = WebhookSub(shop.ids.next("WebhookSubscription"), topic, uri, ctx.now, ctx.now,
                       webhookSubscription.get("format") or "JSON",
                       list(webhookSubscription.get("includeFields") or []), webhookSubscription.get("filter"))
        shop.subscriptions[w.id] = w
        return {"webhookSubscription": WebhookSubscriptionView(ctx, w), "userErrors": []}

    def webhookSubscriptionDelete(self, info, id: str) -> dict:
        shop = self._ctx.shop
        num = parse_gid(id, "WebhookSubscription")
        if num is None or num not in shop.subscriptions:
            return {"deletedWebhookSubscriptionId": None,
                    "userErrors": [{"field": ["id"], "message": "Webhook subscription does not exist"}]}
        del shop.subscriptions[num]
        return {"deletedWebhookSubscriptionId": id, "userErrors": []}
