-- Installs a state built from PostgreSQL: the holders staged in KEYS[3] become the holders set, and the state
-- hash gets a new epoch. Only if the state is still the one its builder found missing or stale (ARGV[1]), so
-- a slow builder can never overwrite a newer state that claims are already using.
-- KEYS[1] the state hash, KEYS[2] the holders sorted set, KEYS[3] the staged holders
-- ARGV: expected epoch ("" = none), new epoch, total, from (ms), until (ms), suspended, cancelled, version,
--       time to live (ms)
-- Returns 1 if installed, else 0.
local current = redis.call("HGET", KEYS[1], "epoch") or ""
if current ~= ARGV[1] then
  redis.call("DEL", KEYS[3])
  return 0
end
redis.call("ZADD", KEYS[3], 0, "~")
redis.call("RENAME", KEYS[3], KEYS[2])
redis.call("DEL", KEYS[1])
redis.call("HSET", KEYS[1], "epoch", ARGV[2], "stale", "0", "total", ARGV[3], "from", ARGV[4], "until", ARGV[5],
  "suspended", ARGV[6], "cancelled", ARGV[7], "version", ARGV[8])
redis.call("PEXPIRE", KEYS[1], ARGV[9])
redis.call("PEXPIRE", KEYS[2], ARGV[9])
return 1
