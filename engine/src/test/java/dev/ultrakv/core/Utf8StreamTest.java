package dev.ultrakv.core;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;

class Utf8StreamTest {

    @Test
    void utf8SplitOverTokensIsStreamedWhenItsCharacterIsComplete() {
        Utf8Stream stream = new Utf8Stream();
        byte[] euro = "€".getBytes(StandardCharsets.UTF_8);
        assertEquals("a", stream.append(new byte[] {'a', euro[0]}));
        assertEquals("", stream.append(new byte[] {euro[1]}));
        assertEquals("€b", stream.append(new byte[] {euro[2], 'b'}));
        assertEquals("\uFFFDc", stream.append(new byte[] {(byte) 0xFF, 'c'}));
    }
}
