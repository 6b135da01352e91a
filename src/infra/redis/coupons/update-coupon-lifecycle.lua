-- Applies a suspend, resume or cancel at once, unless the state already reflects a later one: two admins'
-- changes can reach Redis in the other order than they committed in PostgreSQL.
-- KEYS[1] the state hash; ARGV[1] the coupon's version, ARGV[2] suspended ("1"/"0"), ARGV[3] cancelled
-- Returns 1 if applied, 0 if there is no state (it will be built with the change) or it is newer.
local version = redis.call("HGET", KEYS[1], "version")
if not version or tonumber(version) >= tonumber(ARGV[1]) then return 0 end
redis.call("HSET", KEYS[1], "version", ARGV[1], "suspended", ARGV[2], "cancelled", ARGV[3])
return 1
