/** Benchmarks of UltraKV: JMH microbenchmarks of kernels and cache operations, and the benchmark suite. */
package dev.ultrakv.bench;
