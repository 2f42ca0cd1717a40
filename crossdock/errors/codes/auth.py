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
      "Re-authorise the app for this seller account and store the new refresh token (`crossdock auth connect "
      "CHANNEL` does both, or `auth set` stores a token obtained elsewhere).",
      "crossdock auth set CHANNEL --refresh-token-env VAR"),
    E("XD-AUTH-003", "Seller authorisation expired",
      "The seller's authorisation of the application has lapsed (Amazon: every 365 days). Every call "
      "for this seller fails until it is renewed.",
      ("the yearly Amazon re-authorisation was not done in time",),
      "Have the seller renew the authorisation in Seller Central (Apps and Services → Manage Your "
      "Apps), then store the new refresh token (or run `crossdock auth connect CHANNEL`, which does both).",
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
    E("XD-AUTH-011", "Account connection not completed in time",
      "`crossdock auth connect` waited for the platform to send the seller back to crossdock's loopback "
      "address and nothing came within --timeout. Nothing was stored.",
      ("the consent page was not opened or not finished", "the browser runs on another machine than crossdock "
       "(the loopback address is this machine's)", "the app's redirect URL does not point to the loopback port"),
      "Run the command again, open the printed URL in a browser on this machine and approve; give --port to "
      "match the redirect URL registered with the app.",
      "crossdock auth connect CHANNEL --open"),
    E("XD-AUTH-012", "Authorisation callback refused",
      "The callback that reached crossdock's loopback address could not be verified: its state is not the one "
      "this run sent, its signature (Shopify hmac) does not match the client secret, it names another shop, "
      "or it carries no code. Nothing was stored.",
      ("a stale or forged callback (another tab, an old link)", "the client secret in the configuration differs "
       "from the app's", "the seller approved in another shop than the channel's"),
      "Run the command again and approve in the same browser; check the channel's client secret and account.",
      "crossdock auth connect CHANNEL"),
    E("XD-AUTH-013", "Seller declined the authorisation",
      "The platform sent the seller back with an error (access_denied): the app was not authorised. Nothing "
      "was stored.",
      ("the seller clicked Decline / Cancel", "the seller's account may not authorise this app"),
      "Ask the seller to approve the app, then run the command again.",
      "crossdock auth connect CHANNEL"),
    E("XD-AUTH-014", "Authorisation code refused",
      "The platform's token endpoint refused to exchange the authorisation code for tokens. Nothing was "
      "stored.",
      ("the code was already used or expired (codes live minutes and work once)", "the redirect URL differs "
       "from the one in the consent request", "the client id or secret is wrong"),
      "Run the command again (a new consent gives a new code); check the channel's client id and secret.",
      "crossdock auth connect CHANNEL"),
    E("XD-AUTH-015", "Loopback port unavailable",
      "`crossdock auth connect` could not listen on 127.0.0.1 at the port asked for, so the platform could "
      "not send the seller back to it.",
      ("another program listens on the port", "a port below 1024 without the right to use it"),
      "Give another --port (the one registered as the app's redirect URL), or leave it out for a free one.",
      "crossdock auth connect CHANNEL --port PORT"),
)
