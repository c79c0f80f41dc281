package dev.ultrakv.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A line-by-line port of llama2.c's run.c tokenizer ({@code encode} with its quadratic merge loop, {@code decode},
 * {@code safe_printf}), with its own tokenizer.bin parser, written independently of the class under test so that
 * the two can be compared. Strings are byte strings (ISO-8859-1, one char per byte) as run.c's C strings are.
 */
final class RunCReference {

    private static final float BEST_SCORE_START = -1e10f;
    private static final int BOS = 1;

    private final String[] vocab;
    private final float[] scores;
    private final Map<String, Integer> sorted = new HashMap<>();

    RunCReference(byte[] tokenizerBin, int vocabSize) {
        ByteBuffer in = ByteBuffer.wrap(tokenizerBin).order(ByteOrder.LITTLE_ENDIAN);
        in.getInt();
        vocab = new String[vocabSize];
        scores = new float[vocabSize];
        for (int i = 0; i < vocabSize; i++) {
            scores[i] = in.getFloat();
            byte[] piece = new byte[in.getInt()];
            in.get(piece);
            vocab[i] = new String(piece, StandardCharsets.ISO_8859_1);
            sorted.putIfAbsent(vocab[i], i);
        }
    }

    private int strLookup(String s) {
        return sorted.getOrDefault(s, -1);
    }

    /** run.c's {@code encode(t, text, bos, 0, ...)}. */
    int[] encode(String text, boolean bos) {
        byte[] c = text.getBytes(StandardCharsets.UTF_8);
        List<Integer> tokens = new ArrayList<>();
        if (bos) {
            tokens.add(BOS);
        }
        if (c.length != 0) {
            tokens.add(strLookup(" "));
        }
        byte[] buffer = new byte[8];
        int strLen = 0;
        for (int i = 0; i < c.length; i++) {
            if ((c[i] & 0xC0) != 0x80) {
                strLen = 0;
            }
            buffer[strLen++] = c[i];
            boolean nextIsContinuation = i + 1 < c.length && (c[i + 1] & 0xC0) == 0x80;
            if (nextIsContinuation && strLen < 4) {
                continue;
            }
            int id = strLookup(new String(buffer, 0, strLen, StandardCharsets.ISO_8859_1));
            if (id != -1) {
                tokens.add(id);
            } else {
                for (int j = 0; j < strLen; j++) {
                    tokens.add((buffer[j] & 0xFF) + 3);
                }
            }
            strLen = 0;
        }
        while (true) {
            float bestScore = BEST_SCORE_START;
            int bestId = -1;
            int bestIdx = -1;
            for (int i = 0; i < tokens.size() - 1; i++) {
                int id = strLookup(vocab[tokens.get(i)] + vocab[tokens.get(i + 1)]);
                if (id != -1 && scores[id] > bestScore) {
                    bestScore = scores[id];
                    bestId = id;
                    bestIdx = i;
                }
            }
            if (bestIdx == -1) {
                break;
            }
            tokens.set(bestIdx, bestId);
            tokens.remove(bestIdx + 1);
        }
        return tokens.stream().mapToInt(Integer::intValue).toArray();
    }

    /** run.c's {@code decode} then {@code safe_printf}: the bytes printed. */
    byte[] decodeAndPrint(int prevToken, int token) {
        String piece = vocab[token];
        if (prevToken == BOS && piece.startsWith(" ")) {
            piece = piece.substring(1);
        }
        if (piece.length() == 6 && piece.startsWith("<0x") && piece.endsWith(">")) {
            piece = String.valueOf((char) Integer.parseInt(piece.substring(3, 5), 16));
        }
        if (piece.isEmpty()) {
            return new byte[0];
        }
        if (piece.length() == 1) {
            int b = piece.charAt(0);
            boolean print = b >= 0x20 && b <= 0x7E;
            boolean space = b == ' ' || (b >= '\t' && b <= '\r');
            if (!(print || space)) {
                return new byte[0];
            }
        }
        int nul = piece.indexOf('\0');
        return (nul >= 0 ? piece.substring(0, nul) : piece).getBytes(StandardCharsets.ISO_8859_1);
    }

    /** What run.c prints for the whole sequence (each token after its predecessor). */
    byte[] print(int[] tokens) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 1; i < tokens.length; i++) {
            out.writeBytes(decodeAndPrint(tokens[i - 1], tokens[i]));
        }
        return out.toByteArray();
    }

    String piece(int token) {
        return vocab[token];
    }
}
