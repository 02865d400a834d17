"""Presence across processes and hosts, kept in Redis.

Each process still counts its own sockets (LocalPresence) and mirrors who is present here
into one sorted set per room, a member "<user id>:<process>" each, scored by the moment
that entry expires. A heartbeat renews this process's entries every few seconds; a
process that dies stops renewing, and the next sweep, by any process, lets its people go
and says so. Arriving, leaving and sweeping are Lua scripts, so that one process, never
two, announces a join or a leave. Colours are one hash for the whole site.
"""

import logging
import secrets
import threading
import time

import redis

from chatapp.live.presence import PALETTE_SIZE, Arrival, LocalPresence

HEARTBEAT_SECONDS = 2
COLORS = "chatapp:colors"
ROOMS = "chatapp:presence-rooms"
log = logging.getLogger(__name__)

# KEYS: the room's set, colours, rooms with anyone present, the user's rooms.
# ARGV: user id, this member, its expiry, now, palette size, room id.
ARRIVE = """
local prefix = ARGV[1] .. ':'
local present = false
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[4], '+inf')) do
  if string.sub(member, 1, #prefix) == prefix then present = true; break end
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[6])
redis.call('SADD', KEYS[4], ARGV[6])
local color = redis.call('HGET', KEYS[2], ARGV[1])
if not color then
  local taken = {}
  for _, used in ipairs(redis.call('HVALS', KEYS[2])) do taken[tonumber(used)] = true end
  local size = tonumber(ARGV[5])
  color = tonumber(ARGV[1]) % size
  for free = 0, size - 1 do
    if not taken[free] then color = free; break end
  end
  redis.call('HSET', KEYS[2], ARGV[1], color)
end
if present then return {0, tonumber(color)} end
return {1, tonumber(color)}
"""

# KEYS: the room's set, colours, the user's rooms. ARGV: user id, this member, now, room id.
# Returns 1 when nobody keeps the user in the room any more: then they have left it.
LEAVE = """
redis.call('ZREM', KEYS[1], ARGV[2])
local prefix = ARGV[1] .. ':'
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[3], '+inf')) do
  if string.sub(member, 1, #prefix) == prefix then return 0 end
end
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])) do
  if string.sub(member, 1, #prefix) == prefix then redis.call('ZREM', KEYS[1], member) end
end
redis.call('SREM', KEYS[3], ARGV[4])
if redis.call('SCARD', KEYS[3]) == 0 then redis.call('HDEL', KEYS[2], ARGV[1]) end
return 1
"""

# KEYS: the room's set, colours, rooms with anyone present.
# ARGV: now, room id, the prefix of users' rooms keys.
# Returns the users whose every entry expired: their processes died, and they are gone.
SWEEP = """
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1]) end
local live = {}
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  live[string.match(member, '^(%d+):')] = true
end
local gone = {}
for _, member in ipairs(expired) do
  local user = string.match(member, '^(%d+):')
  if not live[user] then
    live[user] = true
    table.insert(gone, user)
    local rooms = ARGV[3] .. user
    redis.call('SREM', rooms, ARGV[2])
    if redis.call('SCARD', rooms) == 0 then redis.call('HDEL', KEYS[2], user) end
  end
end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('SREM', KEYS[3], ARGV[2]) end
return gone
"""


def room_key(room_id):
    """The sorted set of who is present in a room."""
    return f"chatapp:presence:{room_id}"


USER_ROOMS = "chatapp:user-rooms:"


class RedisPresence(LocalPresence):
    """This process's sockets, and through Redis everyone's."""

    def __init__(
        self,
        app,
        url,
        grace_seconds,
        announce_gone,
        palette_size=PALETTE_SIZE,
        heartbeat_seconds=HEARTBEAT_SECONDS,
    ):
        super().__init__(grace_seconds, palette_size)
        self._app = app
        self.heartbeat_seconds = heartbeat_seconds
        # A process that misses three heartbeats in a row is taken for dead.
        self.expiry_seconds = 3 * heartbeat_seconds
        self._announce_gone = announce_gone
        self._redis = redis.Redis.from_url(url, decode_responses=True)
        self._process = secrets.token_hex(6)
        self._arrive = self._redis.register_script(ARRIVE)
        self._leave = self._redis.register_script(LEAVE)
        self._sweep = self._redis.register_script(SWEEP)
        self._heart = None
        self._heart_lock = threading.Lock()
        self._stopped = threading.Event()

    def _member(self, user_id):
        """This process's entry for a user."""
        return f"{user_id}:{self._process}"

    def _arrived(self, room_id, user_id):
        """New here: new in the room unless another process has them there already."""
        self._beat_on()
        now = time.time()
        is_new, color = self._arrive(
            keys=[room_key(room_id), COLORS, ROOMS, f"{USER_ROOMS}{user_id}"],
            args=[
                user_id,
                self._member(user_id),
                now + self.expiry_seconds,
                now,
                self.palette_size,
                room_id,
            ],
        )
        with self._lock:
            self._colors[user_id] = color
        return Arrival(bool(is_new), color)

    def _gone(self, room_id, user_id, elsewhere):
        """Gone from here: gone from the room unless another process still has them."""
        if not elsewhere:
            with self._lock:
                self._colors.pop(user_id, None)
        left = self._leave(
            keys=[room_key(room_id), COLORS, f"{USER_ROOMS}{user_id}"],
            args=[user_id, self._member(user_id), time.time(), room_id],
        )
        return bool(left)

    def in_room(self, room_id):
        """{user id: colour} of everyone present in the room, in any process."""
        members = self._redis.zrangebyscore(room_key(room_id), time.time(), "+inf")
        users = sorted({int(member.partition(":")[0]) for member in members})
        if not users:
            return {}
        colors = self._redis.hmget(COLORS, users)
        return {
            user_id: int(color) if color is not None else user_id % self.palette_size
            for user_id, color in zip(users, colors, strict=True)
        }

    def color_of(self, user_id):
        """The user's colour while present anywhere; a fixed one by id otherwise."""
        with self._lock:
            if user_id in self._colors:
                return self._colors[user_id]
        color = self._redis.hget(COLORS, user_id)
        return int(color) if color is not None else user_id % self.palette_size

    def _beat_on(self):
        """Start this process's heartbeat unless it beats already."""
        with self._heart_lock:
            if self._heart is None:
                self._heart = threading.Thread(target=self._beat, daemon=True)
                self._heart.start()

    def _beat(self):
        """Renew this process's entries, and let go of those of processes that died."""
        while not self._stopped.wait(self.heartbeat_seconds):
            try:
                self.renew()
                self.sweep()
            except redis.RedisError:
                log.warning("presence heartbeat could not reach Redis", exc_info=True)

    def close(self):
        """Stop the heartbeat, as a process that ends does: its entries then expire."""
        self._stopped.set()

    def renew(self):
        """Push the expiry of every entry of this process further away."""
        expiry = time.time() + self.expiry_seconds
        pipeline = self._redis.pipeline(transaction=False)
        for room_id, user_id in self.here():
            pipeline.zadd(room_key(room_id), {self._member(user_id): expiry})
        pipeline.execute()

    def sweep(self):
        """Let go of people whose every entry expired, and say that they left."""
        now = time.time()
        for room_id in self._redis.smembers(ROOMS):
            gone = self._sweep(
                keys=[room_key(room_id), COLORS, ROOMS], args=[now, room_id, USER_ROOMS]
            )
            for user_id in gone:
                with self._app.app_context():
                    self._announce_gone(int(room_id), int(user_id))
