-- Notes a holder issued through the database path, so the limited path counts it too. Its claim time is now,
-- like a claim's: until the database transaction commits it is in flight, and if it rolls back it is given
-- back exactly like a claim.
-- KEYS[1] the state hash, KEYS[2] the holders sorted set; ARGV[1] the user id
-- Returns {epoch, claim time} if added; nil when there is no state (it will be built from PostgreSQL, this
-- holder included) or the user is in it already.
local epoch = redis.call("HGET", KEYS[1], "epoch")
if not epoch or redis.call("EXISTS", KEYS[2]) == 0 then return nil end
local time = redis.call("TIME")
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
if redis.call("ZADD", KEYS[2], "NX", now, ARGV[1]) == 0 then return nil end
return { epoch, tostring(now) }
