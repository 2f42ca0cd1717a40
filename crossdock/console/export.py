"""Exports for support (and up): ``crossdock export KIND`` over HTTP.

``GET /export/KIND`` (a logged-in page user) and ``GET /api/export/KIND``
(a bearer token), ``?format=csv|json&from=…&to=…`` as the command's
``--format``, ``--from`` and ``--to``. The file is the one the command writes
(:func:`crossdock.exports.write.export`, one code path), spooled to a
temporary file (on disk past a few MB) and streamed; a viewer is refused
(XD-ACCESS-005: exports hold buyers' data), an unknown kind or format is
XD-CFG-009.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO, Any, TextIO, cast

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from crossdock.console.guard import api_user, page_user
from crossdock.errors import ConfigError

__all__ = ["ROUTES"]

_MEDIA = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


def _spool(db: Any, kind: str, fmt: str, since: str | None, until: str | None) -> IO[str]:
    from crossdock.exports.write import export, parse_when

    out = tempfile.SpooledTemporaryFile(max_size=8 << 20, mode="w+", encoding="utf-8", newline="")
    try:
        export(db, kind, cast(TextIO, out), fmt=fmt, since=parse_when(since, "from"), until=parse_when(until, "to"))
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out


def _chunks(spooled: IO[str]) -> Iterator[str]:
    try:
        while chunk := spooled.read(64 << 10):
            yield chunk
    finally:
        spooled.close()


async def _export(request: Request, *, api: bool) -> Response:
    from crossdock.exports.kinds import KINDS

    await run_in_threadpool(api_user if api else page_user, request, "export")
    kind, p = request.path_params["kind"], request.query_params
    fmt = p.get("format") or "csv"
    if kind not in KINDS:
        raise ConfigError("XD-CFG-009", detail=f"export {kind!r}: one of {', '.join(KINDS)}")
    if fmt not in _MEDIA:
        raise ConfigError("XD-CFG-009", detail=f"format {fmt!r}: csv or json")
    spooled = await run_in_threadpool(_spool, request.app.state.db, kind, fmt, p.get("from"), p.get("to"))
    return StreamingResponse(_chunks(spooled), media_type=_MEDIA[fmt],
                             headers={"Content-Disposition": f'attachment; filename="crossdock-{kind}.{fmt}"'})


async def page_export(request: Request) -> Response:
    return await _export(request, api=False)


async def api_export(request: Request) -> Response:
    return await _export(request, api=True)


ROUTES = [Route("/export/{kind}", page_export), Route("/api/export/{kind}", api_export)]
