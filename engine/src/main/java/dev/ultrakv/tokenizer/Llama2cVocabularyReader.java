package dev.ultrakv.tokenizer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Parses llama2.c's {@code tokenizer.bin}: a little-endian int32 {@code max_token_length}, then per token a float32
 * score, an int32 byte length and that many bytes. The file stores no count; the model header's {@code vocab_size}
 * says how many entries there must be, so the whole file is parsed and the count compared, to tell a truncated
 * file from one written for another model.
 */
final class Llama2cVocabularyReader {

    /** Bytes of the header: the int32 max_token_length. */
    private static final int HEADER_BYTES = Integer.BYTES;
    /** Bytes before each piece: float32 score and int32 length. */
    private static final int ENTRY_HEADER_BYTES = Float.BYTES + Integer.BYTES;

    /** The parsed entries, in id order. */
    record Vocabulary(int maxTokenLength, byte[][] pieces, float[] scores) {
    }

    private Llama2cVocabularyReader() {
    }

    /**
     * Parses {@code data}, which must hold exactly {@code vocabSize} entries.
     *
     * @param source names the data in error messages (a file path or resource name)
     */
    static Vocabulary read(byte[] data, int vocabSize, String source) {
        if (vocabSize <= 0) {
            throw new IllegalArgumentException("vocabSize must be positive, got " + vocabSize + " for " + source);
        }
        ByteBuffer in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        if (in.remaining() < HEADER_BYTES) {
            throw new TokenizerFormatException(source + ": truncated tokenizer file: " + data.length
                    + " bytes, too short for the 4-byte max_token_length header");
        }
        int maxTokenLength = in.getInt();
        if (maxTokenLength < 0) {
            throw new TokenizerFormatException(source + ": negative max_token_length " + maxTokenLength);
        }
        // vocabSize comes from another file (the model's header): size the arrays by what this file can hold.
        int room = Math.min(vocabSize, (data.length - HEADER_BYTES) / ENTRY_HEADER_BYTES);
        byte[][] pieces = new byte[room][];
        float[] scores = new float[room];
        int count = 0;
        while (in.hasRemaining()) {
            int entryOffset = in.position();
            if (in.remaining() < ENTRY_HEADER_BYTES) {
                throw truncated(source, count, vocabSize, entryOffset, "score and length", in.remaining());
            }
            float score = in.getFloat();
            int length = in.getInt();
            if (length < 0) {
                throw new TokenizerFormatException(source + ": token " + count + " (at byte offset " + entryOffset
                        + ") has negative length " + length);
            }
            if (in.remaining() < length) {
                throw truncated(source, count, vocabSize, entryOffset, length + " piece bytes", in.remaining());
            }
            byte[] piece = new byte[length];
            in.get(piece);
            if (count < room) {
                pieces[count] = piece;
                scores[count] = score;
            }
            count++;
        }
        if (count != vocabSize) {
            throw new TokenizerFormatException(source + ": tokenizer file holds " + count
                    + " tokens but the model's vocab_size is " + vocabSize);
        }
        return new Vocabulary(maxTokenLength, pieces, scores);
    }

    private static TokenizerFormatException truncated(String source, int token, int vocabSize, int offset,
                                                      String wanted, int remaining) {
        return new TokenizerFormatException(source + ": truncated tokenizer file: token " + token + " of "
                + vocabSize + " (at byte offset " + offset + ") needs " + wanted + " but only " + remaining
                + " bytes remain");
    }
}
