"""``crossdock events setup CHANNEL`` and ``crossdock events status``: the
platforms' events (:mod:`crossdock.events`). Importing this module (the CLI
does) adds the events jobs to every command's job table, the worker's too."""

from __future__ import annotations

import typer

import crossdock.events
from crossdock.cli.application import JSON_OPT, Application
from crossdock.textsafe import markup_escape as escape

#: Importing crossdock.events registered its jobs: every command (the worker's too) knows them.
JOB_KINDS = (crossdock.events.READ, crossdock.events.ERASE)

group = typer.Typer(help="Events from the platforms (webhooks, notifications): subscribe a channel, see what came.",
                    no_args_is_help=True)


@group.command("setup")
def setup(ctx: typer.Context, channel: str = typer.Argument(..., help="The channel to subscribe."),
          as_json: bool = JSON_OPT) -> None:
    """Subscribe CHANNEL's events to [events] public_url/hooks/PLATFORM (what exists is kept)."""
    from crossdock import secrets
    from crossdock.events.setup import setup_doc

    app = Application.of(ctx, json=as_json)
    with app.engine() as engine:
        doc = setup_doc(engine, channel, secret_key=secrets.keys()[0])
    if as_json:
        app.emit(doc)
        return
    app.out.print(f"{escape(channel)}: events to {escape(doc['endpoint'])}")
    for sub in doc["subscriptions"]:
        app.out.print(f"  {escape(str(sub.get('topic')))}  {escape(str(sub.get('status')))}")


@group.command("status")
def status(ctx: typer.Context,
           offline: bool = typer.Option(False, "--offline", help="Do not ask the platforms for their subscriptions."),
           as_json: bool = JSON_OPT) -> None:
    """Per channel: subscriptions, the last event received, deliveries accepted / duplicate / refused."""
    from crossdock import secrets
    from crossdock.events.setup import status_doc

    app = Application.of(ctx, json=as_json)
    with app.engine() as engine:
        doc = status_doc(engine, secret_key=secrets.keys()[0], offline=offline)
    if as_json:
        app.emit(doc)
        return
    if not doc["channels"]:
        app.out.print("no channel of a platform that sends events")
    for row in doc["channels"]:
        subs = row.get("subscriptions")
        topics = ", ".join(f"{s.get('topic')} ({s.get('status')})" for s in subs) if subs else \
            (f"unknown ({row['error']})" if row.get("error") else "none")
        app.out.print(f"{escape(row['channel'])}: last event {row['last_event_at'] or 'never'}; "
                      f"{row['accepted']} accepted, {row['duplicate']} duplicate, {row['refused']} refused, "
                      f"{row['reads_queued']} reads queued; subscriptions: {escape(topics)}")
