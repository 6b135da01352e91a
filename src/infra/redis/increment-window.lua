-- Fixed window: the first hit starts the window's expiry, later hits only count.
-- A key that somehow lost its expiry (PERSIST, a restore) gets one again instead of counting forever.
-- Returns { count, milliseconds left in the window }.
local count = redis.call("INCR", KEYS[1])
if count == 1 or redis.call("PTTL", KEYS[1]) < 0 then
  redis.call("PEXPIRE", KEYS[1], ARGV[1])
end
return { count, redis.call("PTTL", KEYS[1]) }
