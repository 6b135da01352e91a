-- Takes one hit back from a window that still runs: a missing (or ended) window stays missing, since a
-- plain DECR would create a key at -1 with no expiry; the window keeps its end.
if redis.call("GET", KEYS[1]) and tonumber(redis.call("GET", KEYS[1])) > 0 then
  redis.call("DECR", KEYS[1])
end
return 0
