package dev.ultrakv;

import java.util.Optional;

/**
 * The model an {@link UltraAdaptiveKVCacheEngine} serves, as a server lists it.
 *
 * @param id             the model's identity in the KV cache ({@link ModelSource#description()})
 * @param name           a short name: the file name without its extension, or the embedded model's name
 * @param contextLength  positions the model attends over (its trained context, or the one asked for)
 * @param trainedContextLength the context length its file gives (the one it was trained for)
 * @param vocabularySize tokens of its vocabulary
 * @param chatTemplate   the Jinja chat template its file carries (GGUF {@code tokenizer.chat_template}), or null
 */
public record ModelInfo(String id, String name, int contextLength, int trainedContextLength, int vocabularySize,
                        String chatTemplate) {

    /** The chat template, if the model file carries one. */
    public Optional<String> template() {
        return Optional.ofNullable(chatTemplate);
    }
}
