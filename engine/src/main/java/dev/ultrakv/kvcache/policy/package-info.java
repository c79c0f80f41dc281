/**
 * Eviction policies for the prefix cache, separate from its storage: the index reports inserts, accesses,
 * evictability and removals, and a policy names the next victim among unpinned leaves.
 * {@link dev.ultrakv.kvcache.policy.EvictionPolicies#create} builds LRU, LFU (with ageing) or ADAPTIVE; see
 * {@code docs/policies.md} for the design and the simulator's figures.
 */
package dev.ultrakv.kvcache.policy;
