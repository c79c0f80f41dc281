/**
 * Where a step's forward pass runs: the {@link dev.ultrakv.runner.ModelRunner} seam between the engine (which
 * decides what runs) and the hardware (which computes it). The scheduler fills a {@link
 * dev.ultrakv.runner.StepBatch} with the step's rows and their KV stores and asks a runner for the logits;
 * {@link dev.ultrakv.runner.CpuModelRunner} runs the model's forward pass with the Vector API kernels. A GPU
 * runner would implement the same interface over device buffers.
 */
package dev.ultrakv.runner;
