-- Stores a versioned entry ("<version>|<body>") unless the key holds a newer version, body or tombstone.
-- KEYS[1] entry; ARGV[1] version; ARGV[2] body ("" for a tombstone); ARGV[3] TTL in seconds.
-- Returns 1 when stored, 0 when a newer version was kept.
local held = redis.call("GET", KEYS[1])
if held then
  local separator = string.find(held, "|", 1, true)
  if separator and tonumber(string.sub(held, 1, separator - 1)) > tonumber(ARGV[1]) then
    return 0
  end
end
redis.call("SET", KEYS[1], ARGV[1] .. "|" .. ARGV[2], "EX", ARGV[3])
return 1
