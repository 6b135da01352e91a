-- Applies a suspend, resume or cancel at once, unless the state already reflects a later one: two admins'
-- changes can reach Redis in the other order than they committed in PostgreSQL. With no state, the change is
-- kept in the hash all the same (a version with no epoch: claims still find no state), so that a builder whose
-- snapshot was read before this change cannot install it (load-coupon-state.lua compares versions).
-- KEYS[1] the state hash; ARGV[1] the coupon's version, ARGV[2] suspended ("1"/"0"), ARGV[3] cancelled,
-- ARGV[4] time to live (ms) of a hash holding only the change
-- Returns 1 if applied to a state, 0 if the state (or the kept change) is as new or newer, or there is no state.
local version = redis.call("HGET", KEYS[1], "version")
if version and tonumber(version) >= tonumber(ARGV[1]) then return 0 end
redis.call("HSET", KEYS[1], "version", ARGV[1], "suspended", ARGV[2], "cancelled", ARGV[3])
if not redis.call("HGET", KEYS[1], "epoch") then
  redis.call("PEXPIRE", KEYS[1], ARGV[4])
  return 0
end
return 1
