"""Which console button fixes which error code: the Errors page shows it
beside the code's command (``ErrorSpec.command``), so support finds the fix
whether they work in a terminal or in the browser.

Each entry: the page, the button's label on it and the action the button
needs (:data:`crossdock.access.roles.ACTIONS`: the role is named on the page).
A code with neither a command nor a button says so: its remedy is done by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from crossdock.access.roles import least_role

__all__ = ["CONSOLE_FIXES", "ConsoleFix", "console_fixes"]


@dataclass(frozen=True)
class ConsoleFix:
    path: str           # the page with the button
    page: str           # its name in the menu
    button: str         # the button's label on that page
    action: str         # what the button needs (access.roles.ACTIONS)
    note: str           # when to press it

    @property
    def role(self) -> str:
        return least_role(self.action)


_RETRY = ConsoleFix("/jobs", "Jobs", "Retry", "jobs.retry", "once the cause is fixed, replay the failed job")
_RESUME = ConsoleFix("/channels", "Channels", "Resume", "channels.resume",
                     "once the reason for the pause is gone (new credentials stored), resume the channel")
_REFRESH = ConsoleFix("/channels", "Channels", "Refresh token now", "channels.refresh",
                      "get a new access token now and see whether the platform accepts the credentials")
_STORE = ConsoleFix("/channels", "Channels", "Store credentials", "credentials",
                    "store the new refresh token once the seller has authorised the app again (it resumes the "
                    "channel)")
_ADJUST = ConsoleFix("/stock", "Stock", "Adjust", "stock.adjust",
                     "correct the SKU's on-hand quantity with a reason (a count)")

#: code → the console buttons that fix it
CONSOLE_FIXES: dict[str, tuple[ConsoleFix, ...]] = {
    "XD-SYNC-001": (_RETRY,),
    "XD-SYNC-002": (_REFRESH, _RESUME),
    "XD-SYNC-009": (_RESUME,),
    "XD-AUTH-001": (_REFRESH,),
    "XD-AUTH-002": (_STORE, _RESUME),
    "XD-AUTH-003": (_STORE, _RESUME),
    "XD-AUTH-007": (_REFRESH,),
    "XD-AUTH-009": (_RESUME,),
    "XD-AUTH-010": (_STORE, _RESUME),
    "XD-INV-005": (_ADJUST,),
    "XD-INV-012": (_ADJUST,),
    "XD-INV-013": (_ADJUST,),
}


def console_fixes(code: str) -> tuple[ConsoleFix, ...]:
    return CONSOLE_FIXES.get(code, ())
