-- Installs a state built from PostgreSQL: the holders staged in KEYS[3] become the holders set, and the state
-- hash gets a new epoch. Only if the state is still the one its builder found missing or stale (ARGV[1]), so
-- a slow builder can never overwrite a newer state that claims are already using; and only if the snapshot's
-- lifecycle version is not older than one the hash has seen (a suspend or resume that committed after the
-- snapshot was read, applied to the state or, with none, kept by update-coupon-lifecycle.lua for this build).
-- KEYS[1] the state hash, KEYS[2] the holders sorted set, KEYS[3] the staged holders
-- ARGV: expected epoch ("" = none), new epoch, total, from (ms), until (ms), suspended, cancelled, version,
--       time to live (ms)
-- Returns 1 if installed, 0 if another state was installed meanwhile, -1 if the snapshot is outdated.
local current = redis.call("HGET", KEYS[1], "epoch") or ""
if current ~= ARGV[1] then
  redis.call("DEL", KEYS[3])
  return 0
end
local seen = redis.call("HGET", KEYS[1], "version")
if seen and tonumber(seen) > tonumber(ARGV[8]) then
  redis.call("DEL", KEYS[3])
  return -1
end
redis.call("ZADD", KEYS[3], 0, "~")
redis.call("RENAME", KEYS[3], KEYS[2])
redis.call("DEL", KEYS[1])
redis.call("HSET", KEYS[1], "epoch", ARGV[2], "stale", "0", "total", ARGV[3], "from", ARGV[4], "until", ARGV[5],
  "suspended", ARGV[6], "cancelled", ARGV[7], "version", ARGV[8])
redis.call("PEXPIRE", KEYS[1], ARGV[9])
redis.call("PEXPIRE", KEYS[2], ARGV[9])
return 1
