-- Gives one claim back: removes the user only if the state is still the one the claim was made in (same
-- epoch) and the user's entry is still that claim (same claim time). A state rebuilt since, or a later
-- claim by the same user, is left alone.
-- KEYS[1] the state hash, KEYS[2] the holders sorted set
-- ARGV[1] user id, ARGV[2] epoch, ARGV[3] claim time (ms), ARGV[4] "1" to also mark the state stale
-- (PostgreSQL refused what the state allowed: the next claim rebuilds it from PostgreSQL)
-- Returns 1 if the claim was removed, else 0.
if redis.call("HGET", KEYS[1], "epoch") ~= ARGV[2] then return 0 end
if ARGV[4] == "1" then redis.call("HSET", KEYS[1], "stale", "1") end
local claimedAt = redis.call("ZSCORE", KEYS[2], ARGV[1])
if not claimedAt or tonumber(claimedAt) ~= tonumber(ARGV[3]) then return 0 end
return redis.call("ZREM", KEYS[2], ARGV[1])
