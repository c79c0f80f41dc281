package dev.ultrakv.tokenizer;

/**
 * What a GGUF file says about a vocabulary besides its tokens: the BOS and EOS ids, whether the model wants them
 * added ({@code tokenizer.ggml.add_bos_token}, {@code .add_eos_token}, or llama.cpp's default for the tokenizer),
 * and the model's name ({@code general.name}), by which llama.cpp sets some special tokens' whitespace stripping.
 *
 * @param modelName may be null
 */
public record VocabularySettings(int bos, int eos, boolean addBos, boolean addEos, String modelName) {
}
