/**
 * The policy simulator: replays workloads (seeded synthetic ones, or a Mooncake trace) through the very prefix
 * index and policies the engine uses, with a counter for a block pool and no model, beside Belady's offline
 * optimum, and reports full-hit, block and token hit rates per workload, policy and cache size. Its command line is
 * {@code ultrakv simulate}.
 */
package dev.ultrakv.sim;
