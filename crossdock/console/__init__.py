"""The support console: ``crossdock serve``'s pages and JSON API (issue 14).

:func:`crossdock.console.app.build_app` makes the ASGI app; logins, roles and
the audit log are :mod:`crossdock.access` and :mod:`crossdock.audit`'s.
"""
