"""The XD-CFG codes: configuration."""

from __future__ import annotations

from crossdock.errors.spec import ErrorSpec as E

ENTRIES: tuple[E, ...] = (
    E("XD-CFG-001", "Configuration file not found",
      "crossdock could not find the configuration file it was told to read.",
      ("--config or CROSSDOCK_CONFIG names a path that does not exist",
       "the command runs in a folder without crossdock.toml"),
      "Run the command in the folder of your crossdock.toml, pass --config PATH or set CROSSDOCK_CONFIG; "
      "to start one, `crossdock config init` writes a commented configuration (with --from-sandbox ADMIN_URL, "
      "a working one for every account of a running sandbox). crossdock never runs on guessed defaults.",
      "crossdock config init"),
    E("XD-CFG-002", "Configuration file is not valid TOML",
      "The configuration file could not be parsed; the message names the line and column.",
      ("a missing quote or bracket", "a key written twice"),
      "Fix the file at the line shown, then run the check again.",
      "crossdock config check"),
    E("XD-CFG-003", "Configuration value is invalid",
      "A key in the configuration has a value of the wrong type or outside its allowed range.",
      ("a number written as text", "an unknown platform, currency or country code"),
      "Correct the key named in the message; `crossdock config check` lists every problem at once.",
      "crossdock config check"),
    E("XD-CFG-004", "Required configuration key missing",
      "A key that crossdock needs is absent from the configuration.",
      ("a channel without platform or account", "a warehouse without a country"),
      "Add the key named in the message.",
      "crossdock config check"),
    E("XD-CFG-005", "Secret not available",
      "A secret is referenced from the environment but the variable is not set, or an encrypted "
      "secret or stored token cannot be decrypted with the secret key (CROSSDOCK_SECRET_KEY, else the "
      "configuration's [secrets] key_file), or there is no key at all.",
      ("the environment variable is not exported to the worker", "the key was rotated or the key file replaced",
       "the configuration has no [secrets] key_file and CROSSDOCK_SECRET_KEY is not set"),
      "Export the variable named in the message in the worker's environment, or point [secrets] key_file "
      "(or CROSSDOCK_SECRET_KEY) at the key the secrets were encrypted with. After a rotation cut short, put "
      "the old key back beside the new one (a key file holds one key per line, CROSSDOCK_SECRET_KEY takes "
      "NEW,OLD) and run `crossdock config rotate-key` again to finish it.",
      "crossdock config check"),
    E("XD-CFG-006", "Plain-text secret in configuration",
      "A secret (token, client secret, password) is written in the configuration file in plain text. "
      "crossdock refuses to read it so it never lands in logs or backups.",
      ("a token pasted directly into crossdock.toml",),
      "Replace the value with {env = \"VAR_NAME\"} and export the variable, or with an encrypted "
      "value made by `crossdock config encrypt`.",
      "crossdock config encrypt"),
    E("XD-CFG-007", "Unknown channel",
      "A command names a channel that is not in the configuration.",
      ("a typo in the channel name", "the channel was removed from the config"),
      "Use one of the channels listed by `crossdock config show`.",
      "crossdock config show"),
    E("XD-CFG-008", "Unsupported database, broker or rate-limit URL",
      "A URL in CROSSDOCK_DATABASE_URL, CROSSDOCK_BROKER_URL or CROSSDOCK_RATELIMIT_URL has a "
      "scheme crossdock does not support.",
      ("a typo in the scheme", "a driver name crossdock does not ship"),
      "Use sqlite:///PATH or postgresql://… for the database; stub://, redis://… or amqp://… for "
      "the broker; memory://, sql:// or redis://… for the rate limiter."),
    E("XD-CFG-009", "Invalid command-line input",
      "A command-line argument or input file has a value crossdock cannot use.",
      ("a malformed date or duration", "a file that is not of the expected kind"),
      "Check the value against `crossdock COMMAND --help`. For a file or folder named in the message: fix every "
      "line listed, or make sure it exists, is a file (or a folder) as expected and can be read (and written, "
      "where crossdock writes), then run the command again."),
    E("XD-CFG-010", "Secret key file is not private",
      "The key file that decrypts crossdock's secrets ([secrets] key_file) may be read or written by "
      "other users (its mode, its owner, or a folder everyone may write to); crossdock refuses to use or "
      "write it, as ssh refuses such a private key.",
      ("the file was copied or created without restricting its mode",
       "the folder is shared and world-writable, such as /tmp"),
      "Make it readable by its owner only (`chmod 600 FILE`) and keep it in a folder others cannot "
      "write to; if others could read it, make a new key and re-encrypt the secrets.",
      "chmod 600 crossdock.key"),
    E("XD-CFG-011", "File already exists",
      "crossdock will not overwrite an existing configuration or key file unless told to.",
      ("`crossdock config init` run a second time in the same folder",),
      "Choose another --out path, or pass --force to replace the configuration (an existing key file is "
      "kept and reused, so stored tokens stay readable).",
      "crossdock config init --out PATH"),
    E("XD-CFG-012", "No sandbox at the given URL",
      "`crossdock config init --from-sandbox` reached the URL, but it did not answer with a sandbox "
      "description (an unreachable URL is XD-NET-001).",
      ("the URL is one of the sandbox's platform URLs, not its admin URL",
       "another service listens on that port"),
      "Start the sandbox and pass the admin_url it prints (the first line of `crossdock sandbox serve "
      "--json`).", "crossdock sandbox serve --json"),
)
