/**
 * Continuous batching: the {@link dev.ultrakv.scheduler.Scheduler} decides each step which rows run (the next
 * token of every running sequence and chunks of prompts still to prefill), admits waiting requests by priority
 * and cached prefix, and preempts when the KV cache runs dry; the {@link dev.ultrakv.scheduler.StepExecutor}
 * hands a step's rows to a {@link dev.ultrakv.runner.ModelRunner}, which runs them in one forward pass; nothing
 * here knows the model. The engine's step loop drives both. {@link
 * dev.ultrakv.scheduler.SchedulerConfig} is public API; the other classes are the engine's.
 */
package dev.ultrakv.scheduler;
