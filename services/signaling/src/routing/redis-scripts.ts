/**
 * Presence scripts run inside Redis so that read-modify-write is atomic across instances and expiry uses
 * Redis's clock (instances' clocks may disagree). KEYS[1] = presence zset (member "robot/endpoint", score =
 * expiry ms), KEYS[2] = endpoints hash (same field -> JSON {peerId, since, meta}).
 */
const NOW = `local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** ARGV: field, json, ttlMs. Returns the JSON it replaced, or nil. */
export const REGISTER = `${NOW}
local old = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
return old`;

/** ARGV: field, peerId, json, ttlMs. 0 = another peer holds it now, 1 = refreshed, 2 = re-added after a sweep. */
export const REFRESH = `${NOW}
local cur = redis.call('HGET', KEYS[2], ARGV[1])
if cur then
  local ok, d = pcall(cjson.decode, cur)
  if ok and d.peerId ~= ARGV[2] then return 0 end
else
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[1])
if cur then return 1 end
return 2`;

/** ARGV: field, peerId. Removes the registration only if this peer still holds it. */
export const UNREGISTER = `local cur = redis.call('HGET', KEYS[2], ARGV[1])
if not cur then return 0 end
local ok, d = pcall(cjson.decode, cur)
if ok and d.peerId == ARGV[2] then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
return 0`;

/** ARGV: limit. Removes expired registrations and returns their fields; exactly one instance gets each. */
export const SWEEP = `${NOW}
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, f in ipairs(expired) do
  redis.call('ZREM', KEYS[1], f)
  redis.call('HDEL', KEYS[2], f)
end
return expired`;
