-- Fixed window: the first hit starts the window's expiry, later hits only count.
-- A key that somehow lost its expiry (PERSIST, a restore) gets one again instead of counting forever.
-- ARGV[1]: window length in ms; ARGV[2]: how much to add (1 when absent).
-- Returns { count, milliseconds left in the window }.
local by = tonumber(ARGV[2] or "1")
local count = redis.call("INCRBY", KEYS[1], by)
if count == by or redis.call("PTTL", KEYS[1]) < 0 then
  redis.call("PEXPIRE", KEYS[1], ARGV[1])
end
return { count, redis.call("PTTL", KEYS[1]) }
