/**
 * The prefix index: a radix tree of KV blocks per model that finds the longest cached prefix of a token sequence
 * at token granularity, pins what running requests use, and evicts unpinned leaves in the order of an
 * {@link dev.ultrakv.kvcache.policy.EvictionPolicy}. It holds block ids handed to it by the caller and gives them
 * back through a callback, so it runs the same with the engine's block pool and with the simulator's counter.
 * Start at {@link dev.ultrakv.kvcache.index.PrefixIndex}.
 */
package dev.ultrakv.kvcache.index;
