-- Deletes the lock only if it still holds this holder's token: an expired lock may belong to someone else now.
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0
