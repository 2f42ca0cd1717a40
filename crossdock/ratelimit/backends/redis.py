"""Quota store in Redis for scale-out deployments.

Each acquire / feedback is ONE Lua script, so it is atomic, and it reads the
time with ``redis.call('TIME')``: every worker shares the server's clock. The
script mirrors :mod:`crossdock.ratelimit.arithmetic` line for line; the shared
test suite runs the same numbers against both.

Keys (``prefix`` defaults to ``crossdock:rl:``; tests use a unique one):

* ``{prefix}b:{platform}|{account}|{bucket}`` hash: tokens, updated_at_s, adopted rate/burst,
  throttled_total, last_throttled_at_s, last_granted_at_s
* ``{prefix}c:{platform}|{account}|{bucket}`` hash: ``c<minute>`` calls, ``t<minute>`` 429s,
  pruned after two hours
* ``{prefix}w:{platform}|{account}|{window}|{subject}`` hash: window_start_s, used,
  adopted_limit; expires two windows after its last use

Not Redis-Cluster aware (the keys of one call carry no common hash tag).
"""

from __future__ import annotations

import logging
import math
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis as redis_lib
from redis.commands.core import Script

from crossdock.errors import QuotaError
from crossdock.ratelimit.backends.base import (
    AcquireRequest,
    AcquireResult,
    BucketRef,
    BucketRow,
    BucketState,
    Feedback,
    QuotaBackend,
    Snapshot,
    WindowRef,
    WindowRow,
    WindowState,
)

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "crossdock:rl:"

_COMMON_LUA = r"""
local EPS = 1e-9
local function num(v) if v == false or v == nil or v == '' then return nil end return tonumber(v) end
local function fmt(x) return string.format('%.17g', x) end
local function pick(plan, adopted, pinned)
  if adopted == nil or adopted <= 0 then return plan end
  if pinned then return math.min(plan, adopted) end
  return adopted
end
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local function load_bucket(key, plan_burst)
  local v = redis.call('HMGET', key, 'tokens', 'updated_at_s', 'adopted_rate_per_s', 'adopted_burst',
                       'throttled_total', 'last_throttled_at_s', 'last_granted_at_s')
  local s = {tokens = num(v[1]), updated = num(v[2]) or 0, arate = num(v[3]), aburst = num(v[4]),
             thr = num(v[5]) or 0, last_thr = num(v[6]), last_grant = num(v[7])}
  if s.tokens == nil then s.tokens = plan_burst; s.updated = 0 end
  return s
end
local function save_bucket(key, s)
  redis.call('HSET', key, 'tokens', fmt(s.tokens), 'updated_at_s', fmt(s.updated),
             'throttled_total', tostring(s.thr))
  if s.arate then redis.call('HSET', key, 'adopted_rate_per_s', fmt(s.arate)) end
  if s.aburst then redis.call('HSET', key, 'adopted_burst', fmt(s.aburst)) end
  if s.last_thr then redis.call('HSET', key, 'last_throttled_at_s', fmt(s.last_thr)) end
  if s.last_grant then redis.call('HSET', key, 'last_granted_at_s', fmt(s.last_grant)) end
end
local function effective(p, s)
  return pick(p.rate, s.arate, p.pin_rate) * p.scale, pick(p.burst, s.aburst, p.pin_burst)
end
local function level(s, rate, burst, now)
  local elapsed = now - s.updated
  if elapsed <= 0 then return math.min(s.tokens, burst) end
  return math.min(burst, s.tokens + elapsed * rate)
end
local function settle(s, rate, burst, now)
  s.tokens = level(s, rate, burst, now)
  if now > s.updated then s.updated = now end
end
local function floor_for(capacity, fraction, cost, margin)
  return math.max(0, math.min(fraction * capacity + margin, capacity - cost))
end
local function window_start(now, window_s, offset_s)
  return math.floor((now - offset_s) / window_s) * window_s + offset_s
end
local function load_window(key)
  local v = redis.call('HMGET', key, 'window_start_s', 'used', 'adopted_limit')
  return {start = num(v[1]) or 0, used = num(v[2]) or 0, alimit = num(v[3])}
end
local function save_window(key, w, ttl)
  redis.call('HSET', key, 'window_start_s', fmt(w.start), 'used', fmt(w.used))
  if w.alimit then redis.call('HSET', key, 'adopted_limit', fmt(w.alimit)) end
  redis.call('PEXPIRE', key, math.ceil(ttl * 1000))
end
local function window_used(w, start)
  if math.abs(w.start - start) < 1e-6 then return w.used end
  return 0
end
local function count(ckey, now, field, last)
  local minute = math.floor(now / 60)
  redis.call('HINCRBY', ckey, field .. minute, 1)
  redis.call('PEXPIRE', ckey, 7200000)
  if last == nil or math.floor(last / 60) ~= minute then
    for _, f in ipairs(redis.call('HKEYS', ckey)) do
      local m = tonumber(string.sub(f, 2))
      if m ~= nil and m <= minute - 120 then redis.call('HDEL', ckey, f) end
    end
  end
end
"""

# KEYS: bucket, counters, window... ; ARGV: rate, burst, pin_rate, pin_burst, scale, cost,
# floor, n, arrival_jitter_s, then per window: limit, window_s, offset_s, cost, floor, pinned
_ACQUIRE_LUA = _COMMON_LUA + r"""
local now = clock()
local p = {rate = tonumber(ARGV[1]), burst = tonumber(ARGV[2]), pin_rate = ARGV[3] == '1',
           pin_burst = ARGV[4] == '1', scale = tonumber(ARGV[5])}
local cost = tonumber(ARGV[6]); local frac = tonumber(ARGV[7]); local n = tonumber(ARGV[8])
local jitter = tonumber(ARGV[9])
local s = load_bucket(KEYS[1], p.burst)
local rate, burst = effective(p, s)
local best_wait, best_reason = 0, ''
local refused = {}
-- bucket
local bwait = 0
if cost > burst + EPS then
  bwait = -1
else
  local need = cost + floor_for(burst, frac, cost, rate * jitter)
  local have = level(s, rate, burst, now)
  local blocked = math.max(0, s.updated - now)
  if not (blocked == 0 and have + EPS >= need) then
    if rate <= 0 then bwait = -1 else bwait = blocked + math.max(0, need - have) / rate end
  end
end
if bwait ~= 0 then
  best_wait = bwait
  if bwait < 0 then best_reason = 'inf' elseif s.updated > now then best_reason = 'blocked'
  else best_reason = 'bucket' end
end
-- windows
local ws = {}
for i = 1, n do
  local a = 9 + (i - 1) * 6
  local c = {limit = tonumber(ARGV[a + 1]), window_s = tonumber(ARGV[a + 2]),
             offset_s = tonumber(ARGV[a + 3]), cost = tonumber(ARGV[a + 4]),
             frac = tonumber(ARGV[a + 5]), pinned = ARGV[a + 6] == '1'}
  local w = load_window(KEYS[2 + i])
  ws[i] = {c = c, w = w}
  local cap = pick(c.limit, w.alimit, c.pinned)
  local wwait = 0
  if c.cost > cap + EPS then
    wwait = -1
  else
    local start = window_start(now, c.window_s, c.offset_s)
    local used = window_used(w, start)
    if used + c.cost > cap - floor_for(cap, c.frac, c.cost, 0) + EPS then
      wwait = math.max(start + c.window_s - now, 0.001)
    end
  end
  if wwait ~= 0 then
    table.insert(refused, tostring(i))
    if best_wait >= 0 and (wwait < 0 or wwait > best_wait) then
      best_wait = wwait
      if wwait < 0 then best_reason = 'inf' else best_reason = 'w' .. i end
    end
  end
end
if best_reason ~= '' then
  local wait = 'inf'
  if best_wait >= 0 then wait = fmt(best_wait) end
  return {'0', wait, fmt(now), best_reason, table.concat(refused, ',')}
end
local last = s.last_grant
settle(s, rate, burst, now)
s.tokens = math.max(0, s.tokens - cost)
s.last_grant = now
save_bucket(KEYS[1], s)
for i = 1, n do
  local c, w = ws[i].c, ws[i].w
  local start = window_start(now, c.window_s, c.offset_s)
  w.used = window_used(w, start) + c.cost
  w.start = start
  save_window(KEYS[2 + i], w, 2 * c.window_s)
end
count(KEYS[2], now, 'c', last)
return {'1', '0', fmt(now), '', ''}
"""

# KEYS: bucket, counters, window... ; ARGV: has_bucket, rate, burst, pin_rate, pin_burst,
# scale, adopt_rate, adopt_burst, available, refund, throttled, retry_after, n,
# then per window: limit, window_s, offset_s, pinned, exhaust, adopt_limit, remaining
_FEEDBACK_LUA = _COMMON_LUA + r"""
local now = clock()
if ARGV[1] == '1' then
  local p = {rate = tonumber(ARGV[2]), burst = tonumber(ARGV[3]), pin_rate = ARGV[4] == '1',
             pin_burst = ARGV[5] == '1', scale = tonumber(ARGV[6])}
  local s = load_bucket(KEYS[1], p.burst)
  local old_rate, old_burst = effective(p, s)
  settle(s, old_rate, old_burst, now)
  local arate, aburst = num(ARGV[7]), num(ARGV[8])
  if arate and arate > 0 then s.arate = arate end
  if aburst and aburst > 0 then s.aburst = aburst end
  local rate, burst = effective(p, s)
  s.tokens = s.tokens + (burst - old_burst)
  local refund = tonumber(ARGV[10])
  if refund > 0 then s.tokens = s.tokens + refund end
  s.tokens = math.min(s.tokens, burst)
  local available = num(ARGV[9])
  if available ~= nil then s.tokens = math.min(s.tokens, math.max(0, available)) end
  s.tokens = math.max(0, s.tokens)
  if ARGV[11] == '1' then
    s.tokens = 0
    s.thr = s.thr + 1
    s.last_thr = now
    local retry_after = num(ARGV[12])
    if retry_after ~= nil and retry_after > 0 and rate > 0 then
      s.updated = math.max(s.updated, now + math.max(0, retry_after - 1 / rate))
    end
    count(KEYS[2], now, 't', now)
  end
  save_bucket(KEYS[1], s)
end
local n = tonumber(ARGV[13])
for i = 1, n do
  local a = 13 + (i - 1) * 7
  local limit, window_s, offset_s = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local pinned, exhaust = ARGV[a + 4] == '1', ARGV[a + 5] == '1'
  local alimit, remaining = num(ARGV[a + 6]), num(ARGV[a + 7])
  local w = load_window(KEYS[2 + i])
  local start = window_start(now, window_s, offset_s)
  local used = window_used(w, start)
  if alimit and alimit > 0 then w.alimit = alimit end
  local cap = pick(limit, w.alimit, pinned)
  if remaining ~= nil then used = math.max(used, cap - math.max(0, remaining)) end
  if exhaust then used = math.max(used, cap) end
  w.used = used
  w.start = start
  save_window(KEYS[2 + i], w, 2 * window_s)
end
return fmt(now)
"""


def _opt(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _dec(part: str) -> str:
    return part.replace("%7C", "|").replace("%25", "%")


def _f(value: Any) -> float | None:
    return None if value in (None, "") else float(value)


def split_url(url: str) -> tuple[str, str | None]:
    """Take crossdock's own ``key_prefix`` query parameter off a redis:// URL."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = next((v for k, v in query if k == "key_prefix"), None)
    rest = urlencode([(k, v) for k, v in query if k != "key_prefix"])
    return urlunsplit(parts._replace(query=rest)), prefix


class RedisBackend(QuotaBackend):
    name = "redis"

    def __init__(self, client: redis_lib.Redis, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._client = client
        self.prefix = prefix
        self._acquire = client.register_script(_ACQUIRE_LUA)
        self._feedback = client.register_script(_FEEDBACK_LUA)

    @classmethod
    def from_url(cls, url: str, *, prefix: str | None = None) -> RedisBackend:
        clean, url_prefix = split_url(url)
        client = redis_lib.Redis.from_url(clean, decode_responses=True, socket_timeout=5,
                                          socket_connect_timeout=5)
        return cls(client, prefix=prefix or url_prefix or DEFAULT_PREFIX)

    def _bkey(self, ref: BucketRef) -> str:
        return f"{self.prefix}b:{ref.key}"

    def _ckey(self, ref: BucketRef) -> str:
        return f"{self.prefix}c:{ref.key}"

    def _wkey(self, ref: WindowRef) -> str:
        return f"{self.prefix}w:{ref.key}"

    def _call(self, script: Script, keys: list[str], args: list[str]) -> Any:
        """The Lua script's reply (a list of Redis values)."""
        try:
            return script(keys=keys, args=args)
        except (redis_lib.ConnectionError, redis_lib.TimeoutError) as exc:
            raise QuotaError("XD-QUOTA-006", detail=f"redis: {exc}") from exc

    def acquire(self, request: AcquireRequest) -> AcquireResult:
        p = request.params
        args = [repr(p.rate_per_s), repr(p.burst), _flag(p.pinned_rate), _flag(p.pinned_burst),
                repr(p.time_scale),
                repr(float(request.cost)), repr(float(request.floor_fraction)),
                str(len(request.windows)), repr(float(p.arrival_jitter_s))]
        keys = [self._bkey(request.bucket), self._ckey(request.bucket)]
        for c in request.windows:
            keys.append(self._wkey(c.ref))
            args += [repr(c.limit), repr(c.window_s), repr(c.offset_s), repr(float(c.cost)),
                     repr(float(c.floor_fraction)), _flag(c.pinned)]
        granted, wait, now, reason, refused_idx = self._call(self._acquire, keys, args)
        now_s = float(now)
        if granted == "1":
            return AcquireResult(True, 0.0, now_s)
        refused = tuple(request.windows[int(i) - 1].ref for i in refused_idx.split(",") if i)
        if reason == "inf":
            code = "XD-QUOTA-005"
        elif reason == "blocked":
            code = "XD-QUOTA-001"
        elif reason == "bucket":
            code = "XD-QUOTA-003"
        else:
            code = request.windows[int(reason[1:]) - 1].code
        return AcquireResult(False, math.inf if wait == "inf" else float(wait), now_s, code, refused)

    def feedback(self, feedback: Feedback) -> None:
        keys: list[str]
        if feedback.bucket is not None and feedback.params is not None:
            p = feedback.params
            keys = [self._bkey(feedback.bucket), self._ckey(feedback.bucket)]
            args = ["1", repr(p.rate_per_s), repr(p.burst), _flag(p.pinned_rate),
                    _flag(p.pinned_burst), repr(p.time_scale)]
        else:
            keys = [f"{self.prefix}b:-", f"{self.prefix}c:-"]  # declared, never touched
            args = ["0", "0", "0", "0", "0", "1"]
        args += [_opt(feedback.rate_per_s), _opt(feedback.burst), _opt(feedback.available),
                 repr(float(feedback.refund)), _flag(feedback.throttled),
                 _opt(feedback.retry_after_s), str(len(feedback.windows))]
        for adj in feedback.windows:
            c = adj.charge
            keys.append(self._wkey(c.ref))
            args += [repr(c.limit), repr(c.window_s), repr(c.offset_s), _flag(c.pinned),
                     _flag(adj.exhaust), _opt(adj.limit), _opt(adj.remaining)]
        self._call(self._feedback, keys, args)

    def _scan(self, kind: str) -> list[str]:
        pattern = "".join("[" + ch + "]" if ch in "*?[]\\" else ch for ch in self.prefix) + kind + ":*"
        return sorted(self._client.scan_iter(match=pattern, count=1000))

    def snapshot(self) -> Snapshot:
        try:
            return self._snapshot()
        except (redis_lib.ConnectionError, redis_lib.TimeoutError) as exc:
            raise QuotaError("XD-QUOTA-006", detail=f"redis: {exc}") from exc

    def _snapshot(self) -> Snapshot:
        seconds, micros = self._client.time()
        now_s = seconds + micros / 1_000_000
        since = int(now_s // 60) - 60
        bucket_keys = self._scan("b")
        window_keys = self._scan("w")
        pipe = self._client.pipeline(transaction=False)
        for key in bucket_keys:
            pipe.hgetall(key)
            pipe.hgetall(self.prefix + "c:" + key[len(self.prefix) + 2:])
        for key in window_keys:
            pipe.hgetall(key)
        replies = pipe.execute()
        buckets: list[BucketRow] = []
        for i, key in enumerate(bucket_keys):
            h, counters = replies[2 * i], replies[2 * i + 1]
            if not h:
                continue
            platform, account, bucket = (_dec(p) for p in key[len(self.prefix) + 2:].split("|"))
            calls = sum(int(v) for f, v in counters.items() if f[0] == "c" and int(f[1:]) > since)
            thr = sum(int(v) for f, v in counters.items() if f[0] == "t" and int(f[1:]) > since)
            state = BucketState(
                tokens=float(h["tokens"]), updated_at_s=float(h["updated_at_s"]),
                adopted_rate_per_s=_f(h.get("adopted_rate_per_s")),
                adopted_burst=_f(h.get("adopted_burst")),
                throttled_total=int(h.get("throttled_total", 0)),
                last_throttled_at_s=_f(h.get("last_throttled_at_s")),
                last_granted_at_s=_f(h.get("last_granted_at_s")))
            buckets.append(BucketRow(BucketRef(platform, account, bucket), state, calls, thr))
        windows: list[WindowRow] = []
        for key, h in zip(window_keys, replies[2 * len(bucket_keys):], strict=True):
            if not h:
                continue
            platform, account, name, subject = (_dec(p) for p in key[len(self.prefix) + 2:].split("|"))
            windows.append(WindowRow(WindowRef(platform, account, name, subject), WindowState(
                window_start_s=float(h["window_start_s"]), used=float(h["used"]),
                adopted_limit=_f(h.get("adopted_limit")))))
        return Snapshot(now_s, buckets, windows)

    def delete_all(self) -> int:
        """Delete every key under this backend's prefix (tests, `quota reset`)."""
        keys = self._scan("b") + self._scan("c") + self._scan("w")
        return int(self._client.delete(*keys)) if keys else 0

    def close(self) -> None:
        self._client.close()
