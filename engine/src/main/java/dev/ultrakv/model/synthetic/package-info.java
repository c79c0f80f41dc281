/**
 * Llama models with seeded random weights and a byte-fallback SentencePiece vocabulary, in the GGUF layout
 * llama.cpp loads: for tests, benchmarks and shapes without trained weights. See
 * {@link dev.ultrakv.model.synthetic.SyntheticModel} and {@link dev.ultrakv.model.synthetic.SyntheticShape}.
 */
package dev.ultrakv.model.synthetic;
