"""Who may do what: four roles, each allowed what the one below it is plus more.

One table and one function (:func:`allowed`) decide every (role, action)
pair: the console's pages, the API and the ``users`` commands ask it, so a
role means the same wherever a person comes in. A refusal is
XD-ACCESS-005 naming the role the action needs (:func:`require`), never a
hidden button.
"""

from __future__ import annotations

from crossdock.errors import AccessError

__all__ = ["ACTIONS", "ROLES", "allowed", "least_role", "require"]

#: Roles, least first; each includes what the ones before it may do.
ROLES = ("viewer", "support", "operator", "admin")

#: Action → the least role that may do it.
ACTIONS: dict[str, str] = {
    # viewer: the overview, orders (search and summary), channels, jobs, the error catalogue
    "read": "viewer",
    # support: the whole chain of an order, the sync log, exports
    "trace": "support",
    "logs": "support",
    "export": "support",
    # operator: change how the engine runs
    "jobs.retry": "operator",
    "channels.pause": "operator",
    "channels.resume": "operator",
    "channels.refresh": "operator",
    "stock.adjust": "operator",
    # admin: people and credentials
    "users.manage": "admin",
    "credentials": "admin",
    "audit.read": "admin",
}


def least_role(action: str) -> str:
    """The least role allowed ``action``; KeyError for an action not in the table."""
    return ACTIONS[action]


def allowed(role: str, action: str) -> bool:
    """Whether ``role`` may do ``action`` (an unknown role or action: no)."""
    if role not in ROLES or action not in ACTIONS:
        return False
    return ROLES.index(role) >= ROLES.index(ACTIONS[action])


def require(user: str, role: str, action: str) -> None:
    """XD-ACCESS-005 unless ``role`` may do ``action``."""
    if not allowed(role, action):
        need = ACTIONS.get(action, "admin")
        raise AccessError("XD-ACCESS-005", entity=user,
                          detail=f"{user} ({role}) may not {action}: it needs the {need} role or higher",
                          action=action, role=role, needs=need)
