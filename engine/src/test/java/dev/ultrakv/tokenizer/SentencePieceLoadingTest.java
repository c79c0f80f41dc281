package dev.ultrakv.tokenizer;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A malformed tokenizer.bin fails with a message naming the file and the problem. */
class SentencePieceLoadingTest {

    @TempDir
    Path dir;

    private String failure(byte[] content, int vocabSize) throws IOException {
        Path file = dir.resolve("tokenizer.bin");
        Files.write(file, content);
        TokenizerFormatException e = assertThrows(TokenizerFormatException.class,
                () -> SentencePieceTokenizer.fromLlama2c(file, vocabSize));
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
        return e.getMessage();
    }

    private static void assertMentions(String message, String... parts) {
        for (String part : parts) {
            assertTrue(message.contains(part), () -> "\"" + message + "\" lacks \"" + part + "\"");
        }
    }

    @Test
    void vocabSizeLargerThanTheFile_namesBothCounts() throws IOException {
        assertMentions(failure(Tok512.BYTES, 600), "holds 512 tokens", "vocab_size is 600");
    }

    @Test
    void vocabSizeBeyondWhatTheFileCouldHold_isRefusedBeforeAllocating() throws IOException {
        assertMentions(failure(Tok512.BYTES, Integer.MAX_VALUE), "holds 512 tokens",
                "vocab_size is " + Integer.MAX_VALUE);
    }

    @Test
    void vocabSizeSmallerThanTheFile_namesBothCounts() throws IOException {
        assertMentions(failure(Tok512.BYTES, 500), "holds 512 tokens", "vocab_size is 500");
    }

    @Test
    void fileCutInsideAPiece_isTruncated() throws IOException {
        byte[] cut = Arrays.copyOf(Tok512.BYTES, Tok512.BYTES.length - 2);
        assertMentions(failure(cut, 512), "truncated", "token 511 of 512", "only");
    }

    @Test
    void fileCutInsideAnEntryHeader_isTruncated() throws IOException {
        assertMentions(failure(Arrays.copyOf(Tok512.BYTES, 4 + 5), 512), "truncated", "token 0 of 512");
    }

    @Test
    void fileTooShortForTheHeader_isTruncated() throws IOException {
        assertMentions(failure(new byte[2], 512), "truncated", "2 bytes", "max_token_length");
    }

    @Test
    void negativePieceLength_isNamed() throws IOException {
        byte[] bad = Tok512.BYTES.clone();
        int lengthOfToken0 = 4 + 4;
        ByteBuffer.wrap(bad).order(ByteOrder.LITTLE_ENDIAN).putInt(lengthOfToken0, -5);
        assertMentions(failure(bad, 512), "token 0", "negative length -5");
    }

    @Test
    void byteTokenOutOfPlace_isNamed() throws IOException {
        // turn "<0x41>" (token 68) into "<0x42>": run.c would encode 'A' with a token that decodes as 'B'
        byte[] bad = Tok512.BYTES.clone();
        String text = new String(bad, java.nio.charset.StandardCharsets.ISO_8859_1);
        int at = text.indexOf("<0x41>");
        bad[at + 4] = '2';
        assertMentions(failure(bad, 512), "token 68", "<0x42>", "byte 65");
    }

    @Test
    void missingFile_isAnIoError() {
        assertThrows(UncheckedIOException.class,
                () -> SentencePieceTokenizer.fromLlama2c(dir.resolve("absent.bin"), 512));
    }

    @Test
    void nonPositiveVocabSize_isRejected() {
        assertThrows(IllegalArgumentException.class,
                () -> SentencePieceTokenizer.fromLlama2c(Tok512.BYTES, 0, "tok512"));
    }
}
