/**
 * The policy simulator: replays workloads (seeded synthetic ones, or a Mooncake trace) through the very prefix
 * index and policies the engine uses, with a counter for a block pool and no model, and reports request and token
 * hit rates per workload, policy and cache size. {@link dev.ultrakv.sim.Simulator#main} is its command line.
 */
package dev.ultrakv.sim;
