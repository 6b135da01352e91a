-- Decides one first-come-first-served claim of a limited coupon, atomically: open? already claimed by this
-- user? any left? -- then claims one.
-- KEYS[1] the state hash (epoch, stale, total, from, until, suspended, cancelled, version)
-- KEYS[2] the holders sorted set: user id -> claim time in ms (0 for holders loaded from PostgreSQL), plus the
--         sentinel "~" written with the state, so a lost set is told apart from an empty one.
-- ARGV[1] the user id
-- The window uses Redis server time, one clock for every instance: open while from <= now < until.
-- Replies: {"NOT_LOADED", epoch or ""} | {"NOT_ACTIVE", epoch, "window" or "lifecycle"} | {"SOLD_OUT", epoch}
--        | {"ALREADY_ISSUED", epoch, claim time} | {"CLAIMED", epoch, claim time}
local state = redis.call("HMGET", KEYS[1], "epoch", "stale", "total", "from", "until", "suspended", "cancelled")
local epoch = state[1]
if not epoch then return { "NOT_LOADED", "" } end
if state[2] == "1" or redis.call("EXISTS", KEYS[2]) == 0 then return { "NOT_LOADED", epoch } end

local time = redis.call("TIME")
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
-- The window first: it never changes, so a refusal by it is final; one by the lifecycle is only as true as the
-- state's version (the caller checks it against PostgreSQL's).
if now < tonumber(state[4]) or now >= tonumber(state[5]) then return { "NOT_ACTIVE", epoch, "window" } end
if state[6] == "1" or state[7] == "1" then return { "NOT_ACTIVE", epoch, "lifecycle" } end

local claimedAt = redis.call("ZSCORE", KEYS[2], ARGV[1])
if claimedAt then return { "ALREADY_ISSUED", epoch, claimedAt } end

-- The sentinel is not a holder.
if redis.call("ZCARD", KEYS[2]) - 1 >= tonumber(state[3]) then return { "SOLD_OUT", epoch } end

redis.call("ZADD", KEYS[2], now, ARGV[1])
return { "CLAIMED", epoch, tostring(now) }
