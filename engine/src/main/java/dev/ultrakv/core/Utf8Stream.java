package dev.ultrakv.core;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Decodes a stream of UTF-8 byte pieces (one per generated token) into the characters each piece completes,
 * holding back the bytes of a character that the next piece finishes. Malformed bytes become U+FFFD.
 */
final class Utf8Stream {
    /** The longest UTF-8 character, and so the most bytes ever held back (less one). */
    private static final int MAX_CHARACTER_BYTES = 4;

    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE);
    private final ByteBuffer held = ByteBuffer.allocate(MAX_CHARACTER_BYTES);

    /** The characters completed by {@code bytes}. */
    String append(byte[] bytes) {
        ByteBuffer in = ByteBuffer.allocate(held.position() + bytes.length);
        in.put(held.flip()).put(bytes).flip();
        CharBuffer out = CharBuffer.allocate(in.remaining());
        decoder.decode(in, out, false);
        held.clear().put(in);
        return out.flip().toString();
    }
}
