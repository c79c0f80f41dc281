package dev.ultrakv.sim;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reading Mooncake traces: well-formed records, and each kind of malformed line refused with its number. */
class MooncakeTraceTest {

    static Workload read(String text) throws IOException {
        return MooncakeTrace.read(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)), "t");
    }

    static String refusal(String text) {
        return assertThrows(IllegalArgumentException.class, () -> read(text)).getMessage();
    }

    @Test
    void aRecordGivesItsHashChainAndRealPromptLength() throws IOException {
        Workload w = read("{\"timestamp\": 12, \"input_length\": 1000, \"output_length\": 5, \"hash_ids\": [4, 9]}\n"
                + "\n{\"hash_ids\":[4],\"extra\":\"x\",\"weights\":[1.5, 2]}");
        assertEquals(2, w.requests().size());
        assertArrayEquals(new int[] {4, 9}, w.requests().get(0).prompt());
        assertEquals(1000, w.requests().get(0).promptTokens());
        assertEquals(512, w.requests().get(1).promptTokens(), "without input_length every block is whole");
    }

    @Test
    void malformedLinesAreRefusedWithTheirNumberAndWhatIsWrong() {
        String good = "{\"hash_ids\": [1, 2]}\n";
        assertEquals("t line 2: hash id 2 is not a number at column 18", refusal(good + "{\"hash_ids\": [1, x]}"));
        assertEquals("t line 2: no hash_ids", refusal(good + "{\"timestamp\": 3}"));
        assertEquals("t line 2: hash_ids is empty", refusal(good + "{\"hash_ids\": []}"));
        assertEquals("t line 2: hash_ids is not an array", refusal(good + "{\"hash_ids\": 5}"));
        assertEquals("t line 2: hash id 1 is negative at column 15", refusal(good + "{\"hash_ids\": [-1]}"));
        assertEquals("t line 2: hash id 4294967296 is not an int", refusal(good + "{\"hash_ids\": [4294967296]}"));
        assertEquals("t line 2: input_length 2000 does not fit 1 hash ids of 512 tokens",
                refusal(good + "{\"input_length\": 2000, \"hash_ids\": [7]}"));
        assertTrue(refusal(good + "[1, 2]").startsWith("t line 2: expected a JSON object at column 1"));
        assertTrue(refusal(good + "{\"hash_ids\": [1, 2]").startsWith("t line 2: expected ',' or '}'"));
        assertTrue(refusal(good + "{\"hash_ids\": [1]} x").startsWith("t line 2: text after the object"));
    }

    @Test
    void anOverlongLineIsRefusedBeforeItIsHeld() {
        String huge = "{\"hash_ids\": [" + "1, ".repeat(MooncakeTrace.MAX_LINE_CHARS / 3 + 1) + "1]}";
        assertTrue(refusal(huge).startsWith("t line 1: longer than"));
    }

    @Test
    void anEmptyTraceIsRefused() {
        assertEquals("t holds no request", refusal("\n\n"));
    }
}
