/**
 * Reading and writing GGUF, llama.cpp's model file format.
 *
 * <p>{@link dev.ultrakv.model.gguf.GgufFile} memory-maps a file and validates it (errors are
 * {@link dev.ultrakv.model.ModelFormatException}s that name the file and the problem);
 * {@link dev.ultrakv.model.gguf.GgufWriter} writes files with llama.cpp's layout, so that a file read and written
 * back is byte-identical. Metadata values keep their exact GGUF types ({@link dev.ultrakv.model.gguf.GgufValue}).
 *
 * <h2>Notes</h2>
 * The reader is stricter than llama.cpp in two ways: strings must be valid UTF-8 (so that a round trip is exact),
 * and nested arrays are rejected (llama.cpp rejects them too). It is more lenient in one: tensors may lie at any
 * aligned, non-overlapping offsets, where llama.cpp requires them packed in file order (as the writer packs them).
 */
package dev.ultrakv.model.gguf;
