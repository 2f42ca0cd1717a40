"""Targets from ``[alerts.targets.NAME]`` and delivery through apprise
(e-mail, webhooks, Slack, Teams, ntfy… — one URL scheme each; apprise is
the library that speaks them all)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from crossdock.doctor.model import SEVERITY

log = logging.getLogger(__name__)

__all__ = ["Target", "message", "send", "targets_from_config"]


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    url: Any                      # text, or a SecretRef revealed when sending
    codes: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    min_severity: str = "warn"

    def wants(self, code: str, severity: str) -> bool:
        if SEVERITY[severity] < SEVERITY[self.min_severity]:
            return False
        if not self.codes and not self.areas:
            return True
        area = code.split("-")[1] if code.count("-") >= 2 else ""
        return any(code == c or code.startswith(c.rstrip("-") + "-") for c in self.codes) or area in self.areas


def targets_from_config(cfg: Any) -> dict[str, Target]:
    out = {}
    for name, t in sorted(((cfg.alerts or {}).get("targets") or {}).items()):
        if "url" not in t:
            continue
        out[name] = Target(name, t["url"], tuple(t.get("codes") or ()), tuple(a.upper() for a in t.get("areas") or ()),
                           t.get("min_severity") or "warn")
    return out


def message(row: Any, kind: str) -> tuple[str, str]:
    """(title, body) of an alert row's ``kind`` message: open, reminder or resolved."""
    where = f" {row.channel}" if row.channel else ""
    head = {"open": row.severity.upper(), "reminder": f"REMINDER {row.severity.upper()}",
            "resolved": "RESOLVED"}[kind]
    title = f"[crossdock] {head} {row.code}{where}: {row.check}"
    lines = [row.found if kind != "resolved" else f"cleared: {row.found}"]
    if kind != "resolved":
        if row.remedy:
            lines.append(f"Fix: {row.remedy}")
        lines.append(f"Acknowledge: crossdock alerts ack {row.id}")
    lines.append(f"More: crossdock errors explain {row.code}")
    return title, "\n".join(lines)


def send(target: Target, title: str, body: str) -> str | None:
    """Deliver one message; None when delivered, else why not."""
    import apprise

    url = target.url if isinstance(target.url, str) else target.url.reveal()
    sender = apprise.Apprise()
    if not sender.add(url):
        return f"target {target.name}: apprise does not understand its URL"
    try:
        ok = bool(sender.notify(title=title, body=body))
    except Exception as exc:  # noqa: BLE001 - a plugin's failure is this target's failure, retried later
        return f"target {target.name}: {type(exc).__name__}: {exc}"
    return None if ok else f"target {target.name}: not delivered"
