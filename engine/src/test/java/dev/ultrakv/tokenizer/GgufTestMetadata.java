package dev.ultrakv.tokenizer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A throwaway reader of a GGUF file's key-value metadata, for tests only (the engine's reader lives elsewhere).
 * Format: magic "GGUF", u32 version, u64 tensor count, u64 kv count, then (string key, u32 type, value) pairs.
 */
final class GgufTestMetadata {

    private static final int STRING = 8;
    private static final int ARRAY = 9;

    private GgufTestMetadata() {
    }

    static Map<String, Object> read(Path file) throws IOException {
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[4];
        in.get(magic);
        if (!"GGUF".equals(new String(magic, StandardCharsets.US_ASCII))) {
            throw new IOException(file + " is not GGUF");
        }
        in.getInt();
        in.getLong();
        long kvCount = in.getLong();
        Map<String, Object> kv = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = string(in);
            kv.put(key, value(in, in.getInt()));
        }
        return kv;
    }

    private static String string(ByteBuffer in) {
        byte[] bytes = new byte[Math.toIntExact(in.getLong())];
        in.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static Object value(ByteBuffer in, int type) {
        return switch (type) {
            case 0, 1 -> (int) in.get();
            case 2, 3 -> (int) in.getShort();
            case 4, 5 -> in.getInt();
            case 6 -> in.getFloat();
            case 7 -> in.get() != 0;
            case STRING -> string(in);
            case ARRAY -> {
                int elementType = in.getInt();
                long count = in.getLong();
                List<Object> list = new ArrayList<>();
                for (long i = 0; i < count; i++) {
                    list.add(value(in, elementType));
                }
                yield list;
            }
            case 10, 11 -> in.getLong();
            case 12 -> in.getDouble();
            default -> throw new IllegalStateException("GGUF value type " + type);
        };
    }
}
