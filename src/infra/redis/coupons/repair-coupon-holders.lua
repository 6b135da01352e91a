-- Applies a reconciliation with PostgreSQL to the state of one epoch: adds the holders it lacks (as
-- confirmed, claim time 0) and removes orphaned claims, each only if it is still exactly that claim.
-- KEYS[1] the state hash, KEYS[2] the holders sorted set
-- ARGV[1] epoch, ARGV[2] "1" to mark the state stale, ARGV[3] n = number of holders to add,
-- ARGV[4 .. 3+n] the holders to add, then pairs of (user id, claim time) to remove
-- Returns the number of entries changed, or -1 if the state is not that epoch any more.
if redis.call("HGET", KEYS[1], "epoch") ~= ARGV[1] then return -1 end
if ARGV[2] == "1" then redis.call("HSET", KEYS[1], "stale", "1") end
local adds = tonumber(ARGV[3])
local changed = 0
for i = 4, 3 + adds do
  changed = changed + redis.call("ZADD", KEYS[2], "NX", 0, ARGV[i])
end
for i = 4 + adds, #ARGV, 2 do
  local claimedAt = redis.call("ZSCORE", KEYS[2], ARGV[i])
  if claimedAt and tonumber(claimedAt) == tonumber(ARGV[i + 1]) then
    changed = changed + redis.call("ZREM", KEYS[2], ARGV[i])
  end
end
return changed
