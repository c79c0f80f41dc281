/**
 * The quality harness: how far KV cache codecs and compression move a model's predictions away from a float32,
 * uncompressed cache. {@link dev.ultrakv.quality.QualityHarness} teacher-forces the shipped stories
 * ({@link dev.ultrakv.quality.QualityTexts}) through the reference and every
 * {@link dev.ultrakv.quality.KvCandidate} in lock step and reports KL divergence, top-1 agreement, perplexity,
 * the first greedy divergence and K/V bytes per token ({@link dev.ultrakv.quality.QualityReport});
 * {@code ultrakv quality} is its command line.
 */
package dev.ultrakv.quality;
