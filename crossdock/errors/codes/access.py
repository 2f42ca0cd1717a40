"""The XD-ACCESS codes: support console logins, roles, API tokens and where it listens."""

from __future__ import annotations

from crossdock.errors.spec import ErrorSpec as E

ENTRIES: tuple[E, ...] = (
    E("XD-ACCESS-001", "Unknown user",
      "No crossdock user has this name. The console answers a wrong name and a wrong password alike, so "
      "this code shows only in the CLI and the audit log.",
      ("a typo in the user name", "the user was never added on this database"),
      "Check the name with `crossdock users list`; an admin adds users with `crossdock users add`.",
      "crossdock users list"),
    E("XD-ACCESS-002", "Wrong user name or password",
      "The user name and password do not match a crossdock user. Each failure counts towards the login "
      "throttle of the name and of the address it came from.",
      ("a mistyped password", "the password was changed with `crossdock users passwd`"),
      "Type the password again; an admin sets a new one with `crossdock users passwd NAME`.",
      "crossdock users passwd NAME"),
    E("XD-ACCESS-003", "Too many failed logins",
      "Logins for this user name, or from this address, failed too often in a short time; further "
      "attempts are refused for a while, even with the right password.",
      ("a forgotten password tried several times", "someone guessing passwords"),
      "Wait until the time shown ([serve] lockout_s), then log in with the right password; an admin can "
      "set a new password meanwhile.",
      "crossdock users passwd NAME"),
    E("XD-ACCESS-004", "User disabled",
      "The user exists but is disabled: no login, and its API tokens are refused.",
      ("an admin disabled the user (staff left, account shared)",),
      "Ask an admin; a disabled user stays in the audit log and is not re-enabled by a password change.",
      "crossdock users list"),
    E("XD-ACCESS-005", "Not allowed for this role",
      "The user's role does not allow this action (viewer reads; support also reads traces, logs and "
      "exports; operator also retries jobs, pauses channels and adjusts stock; admin also manages users "
      "and credentials). Nothing was changed.",
      ("the action needs a higher role than the user has",),
      "Ask a user with the role named in the message, or an admin to change the role.",
      "crossdock users list"),
    E("XD-ACCESS-006", "Form token missing or invalid",
      "A form was sent without the console's CSRF token, or with one that does not belong to this "
      "session; it was refused and nothing was changed.",
      ("the page was open from before a login or logout", "another site tried to send the form"),
      "Reload the page and send the form again.",
      None),
    E("XD-ACCESS-007", "API token missing, unknown or revoked",
      "An API request carried no `Authorization: Bearer` token, or one that is not a current token of an "
      "enabled user.",
      ("the token was revoked or its user disabled", "the header is missing or mistyped"),
      "Create a new token with `crossdock users token NAME` and send it as `Authorization: Bearer TOKEN`.",
      "crossdock users token NAME"),
    E("XD-ACCESS-008", "Refusing to listen on a non-local address",
      "`crossdock serve` listens on loopback unless told otherwise: another address needs "
      "`--allow-remote` and a configuration that says how the traffic is protected (`[serve] tls_cert_file` "
      "and `tls_key_file`, or `behind_proxy = true` for a TLS-terminating proxy).",
      ("`--host 0.0.0.0` without `--allow-remote`", "no [serve] TLS files or proxy note in the configuration"),
      "Serve on 127.0.0.1 behind a TLS proxy (set `[serve] behind_proxy = true`) or give TLS files, then "
      "add `--allow-remote`.",
      "crossdock serve --host 127.0.0.1"),
    E("XD-ACCESS-009", "Not logged in",
      "The page needs a login, and this request carries no current session (never logged in, logged out, "
      "or the session expired).",
      ("the session expired ([serve] session_h)", "the browser dropped the cookie"),
      "Log in again.",
      None),
    E("XD-ACCESS-010", "User already exists",
      "A user with this name exists already; names are unique.",
      ("the user was added before",),
      "Pick another name, or change the existing user's password with `crossdock users passwd`.",
      "crossdock users list"),
    E("XD-ACCESS-011", "Password not accepted",
      "The new password is empty, too short (fewer than 10 characters), or the two entries differ.",
      ("a short password", "a typo in the confirmation"),
      "Choose a password of at least 10 characters and type it the same twice.",
      None),
)
