-- Stores a versioned entry ("<version>|<body>") unless the key holds a newer version, body or tombstone.
-- KEYS[1] entry; ARGV[1] version; ARGV[2] body ("" for a tombstone); ARGV[3] TTL in seconds;
-- ARGV[4], ARGV[5] (optional) a channel and a message published after the entry was written or kept: an
-- invalidation's announcement to the other instances, in the same round trip and after the tombstone.
-- Returns 1 when stored, 0 when a newer version was kept.
local stored = 1
local held = redis.call("GET", KEYS[1])
if held then
  local separator = string.find(held, "|", 1, true)
  if separator and tonumber(string.sub(held, 1, separator - 1)) > tonumber(ARGV[1]) then
    stored = 0
  end
end
if stored == 1 then
  redis.call("SET", KEYS[1], ARGV[1] .. "|" .. ARGV[2], "EX", ARGV[3])
end
if ARGV[4] then
  redis.call("PUBLISH", ARGV[4], ARGV[5])
end
return stored
