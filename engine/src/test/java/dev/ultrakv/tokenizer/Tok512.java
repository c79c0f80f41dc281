package dev.ultrakv.tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** The default model's tokenizer (llama2.c's tok512), loaded once from the classpath for the tests. */
final class Tok512 {

    static final String RESOURCE = "/dev/ultrakv/models/tok512.bin";
    static final int VOCAB_SIZE = 512;
    static final byte[] BYTES = load();
    static final SentencePieceTokenizer TOKENIZER = SentencePieceTokenizer.fromLlama2c(BYTES, VOCAB_SIZE, RESOURCE);
    static final RunCReference REFERENCE = new RunCReference(BYTES, VOCAB_SIZE);

    private Tok512() {
    }

    private static byte[] load() {
        try (InputStream in = Tok512.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("missing classpath resource " + RESOURCE);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
