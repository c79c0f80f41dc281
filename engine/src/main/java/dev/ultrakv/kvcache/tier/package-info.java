/**
 * KV cache tiers below the memory pool: where evicted or shared blocks go (local disk, Redis) and how they come
 * back. {@link dev.ultrakv.kvcache.tier.KvTier} is the seam; {@link dev.ultrakv.kvcache.tier.BlockKey} and
 * {@link dev.ultrakv.kvcache.tier.BlockRecord} are what every tier stores.
 * {@link dev.ultrakv.kvcache.tier.RedisKvTier} shares blocks between engines through a Redis server.
 */
package dev.ultrakv.kvcache.tier;
