"""The XD-AUTH codes: authorisation and tokens."""

from __future__ import annotations

from crossdock.errors.spec import ACTION_FAIL, ACTION_RETRY
from crossdock.errors.spec import ErrorSpec as E

ENTRIES: tuple[E, ...] = (
    E("XD-AUTH-001", "Access token rejected",
      "The platform rejected the access token on a call. crossdock refreshes once and retries; this "
      "code means the fresh token was rejected too.",
      ("the application's permissions changed", "clock skew on this machine"),
      "Check the channel's authorisation in the platform's seller centre, then refresh the token.",
      "crossdock auth refresh CHANNEL", retryable=True),
    E("XD-AUTH-002", "Refresh token rejected or revoked",
      "The platform refused the refresh token, so no access token can be obtained. The channel is "
      "paused; other channels keep running.",
      ("the seller revoked the app's authorisation", "the refresh token expired (eBay 18 months)",
       "a rotating refresh token (Shopify) was used twice"),
      "Re-authorise the app for this seller account and store the new refresh token.",
      "crossdock auth set CHANNEL --refresh-token-env VAR"),
    E("XD-AUTH-003", "Seller authorisation expired",
      "The seller's authorisation of the application has lapsed (Amazon: every 365 days). Every call "
      "for this seller fails until it is renewed.",
      ("the yearly Amazon re-authorisation was not done in time",),
      "Have the seller renew the authorisation in Seller Central (Apps and Services → Manage Your "
      "Apps), then store the new refresh token.",
      "crossdock auth set CHANNEL --refresh-token-env VAR"),
    E("XD-AUTH-004", "Client secret expired or invalid",
      "The application's client secret was rejected (Amazon LWA secrets must be rotated every 180 days).",
      ("the LWA client secret was not rotated in time", "a new secret was issued but not deployed"),
      "Rotate the client secret in the developer console and update the referenced environment variable.",
      "crossdock auth status"),
    E("XD-AUTH-005", "Credential expiring soon",
      "A refresh token, seller authorisation or client secret expires within the warning window.",
      ("a yearly or 180-day renewal is coming up",),
      "Renew the credential before the date shown to avoid an outage.",
      "crossdock auth status", action=ACTION_FAIL),
    E("XD-AUTH-006", "Restricted Data Token refused",
      "Amazon refused to issue a Restricted Data Token, so buyer addresses cannot be read.",
      ("the app lacks the PII role", "the restricted resource path is wrong"),
      "Check that the app has the Direct-to-Consumer Shipping role in the developer profile.",
      None),
    E("XD-AUTH-007", "Token refresh lock timed out",
      "Another worker held the channel's token-refresh lock for too long.",
      ("a worker died while refreshing", "the database is overloaded"),
      "Usually clears itself; if it repeats, check `crossdock jobs failed` and the database.",
      "crossdock auth status", retryable=True, action=ACTION_RETRY),
    E("XD-AUTH-008", "Webhook signature invalid",
      "A webhook arrived with a signature that does not match the shared secret; it was rejected.",
      ("the client secret in config differs from the app's", "the request was forged or altered"),
      "Check that the channel's client secret matches the app's; do not process the payload.",
      None),
    E("XD-AUTH-009", "Trading API token hard-expired",
      "eBay reported the Auth'n'Auth token as hard-expired or revoked (Trading error 932).",
      ("the 18-month token ran out", "the seller revoked access"),
      "Generate a new token for the seller and store it.",
      "crossdock auth set CHANNEL --token-env VAR"),
    E("XD-AUTH-010", "Credentials stale after a restore",
      "The database was restored from a backup, and this channel's refresh token rotates on every use: the "
      "token in the backup (and the one in the configuration) was used up after the backup was taken, so the "
      "platform refused it. The channel is paused before it syncs anything; the other channels run.",
      ("a restore from a backup older than the last token refresh (Shopify rotates the refresh token on "
       "every refresh)",),
      "Re-authorise the app for this seller account (or take the newest refresh token from the platform's "
      "admin) and store it; the channel resumes by itself.",
      "crossdock auth set CHANNEL --refresh-token-env VAR"),
)
