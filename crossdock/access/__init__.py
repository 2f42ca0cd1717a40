"""Who may use the support console and its API, and what each may do.

- :mod:`~crossdock.access.tables`: users, API tokens, console sessions, the login throttle;
- :mod:`~crossdock.access.roles`: the one table deciding (role, action);
- :mod:`~crossdock.access.users`: users, argon2 passwords, API tokens, login;
- :mod:`~crossdock.access.throttle`: failed logins per name and address, in the database;
- :mod:`~crossdock.access.sessions`: server-side console sessions and CSRF tokens.

Every change to a user goes to the audit log (:mod:`crossdock.audit`).
Failures are XD-ACCESS codes.
"""
