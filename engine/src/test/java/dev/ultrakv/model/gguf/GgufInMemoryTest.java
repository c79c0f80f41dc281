package dev.ultrakv.model.gguf;

import dev.ultrakv.model.ModelFormatException;
import dev.ultrakv.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** In-memory files, every value type through a write and a read, and the writer's own checks. */
class GgufInMemoryTest {

    @TempDir
    Path dir;

    private static SequencedMap<String, GgufValue> everyType() {
        SequencedMap<String, GgufValue> m = new LinkedHashMap<>();
        m.put("u8", GgufValue.uint8(255));
        m.put("i8", GgufValue.int8(-128));
        m.put("u16", GgufValue.uint16(65535));
        m.put("i16", GgufValue.int16(-32768));
        m.put("u32", GgufValue.uint32(0xFFFF_FFFFL));
        m.put("i32", GgufValue.int32(Integer.MIN_VALUE));
        m.put("u64", GgufValue.uint64(-1L));
        m.put("i64", GgufValue.int64(Long.MIN_VALUE));
        m.put("f32", GgufValue.float32(-0.0f));
        m.put("f64", GgufValue.float64(Math.PI));
        m.put("bool", GgufValue.bool(true));
        m.put("str", GgufValue.string("h\u00e9llo \u2581 \uD83D\uDE00"));
        m.put("strs", GgufValue.stringArray(List.of("", "a", "\u2581b")));
        m.put("f32s", GgufValue.float32Array(new float[] {1, -2, Float.NaN}));
        m.put("i32s", GgufValue.int32Array(new int[] {1, -2, 3}));
        m.put("u8s", new GgufValue.IntArray(GgufValueType.UINT8, new long[] {0, 255}));
        m.put("f64s", new GgufValue.Float64Array(new double[] {0.5}));
        m.put("bools", new GgufValue.BoolArray(new boolean[] {true, false}));
        return m;
    }

    @Test
    void everyValueType_survivesWriteAndRead() throws IOException {
        Path p = dir.resolve("types.gguf");
        MemorySegment data = MemorySegment.ofArray(new byte[64]);
        data.set(ValueLayout.JAVA_BYTE, 32, (byte) 7);
        List<GgufTensorInfo> tensors = GgufWriter.layOut(List.of(
                new GgufTensorInfo("a", new long[] {3}, GgmlType.F32, 0),
                new GgufTensorInfo("b", new long[] {2, 2}, GgmlType.F16, 0)), 32);
        try (GgufFile made = GgufFile.of("<types>", everyType(), tensors, data)) {
            GgufWriter.write(made, p);
        }
        // data: 'a' (12 bytes) padded to 32, then 'b' (8 bytes) padded to 32, so the file ends aligned
        try (GgufFile read = GgufFile.read(p)) {
            assertEquals(everyType(), read.metadata());
            assertEquals(0, Files.size(p) % 32);
            assertEquals(7, read.tensorData("b").get(ValueLayout.JAVA_BYTE, 0));
            assertEquals(Integer.MIN_VALUE, read.getInt("i32"));
            assertEquals(Long.MIN_VALUE, read.getLongOrDefault("i64", 0));
            var e = assertThrows(ModelFormatException.class, () -> read.getLong("u64"));
            assertTrue(e.getMessage().contains("18446744073709551615 does not fit in a long"), e.getMessage());
            assertEquals(255, read.getInt("u8"));
            assertEquals(-128, read.getInt("i8"));
            assertEquals(Math.PI, read.getFloat("f64"), 1e-6);
            assertArrayEquals(new int[] {0, 255}, read.getIntArray("u8s"));
            assertArrayEquals(new float[] {1, -2, 3}, read.getFloatArray("i32s"));
            assertArrayEquals(new String[] {"", "a", "\u2581b"}, read.getStringArray("strs"));
            assertEquals("h\u00e9llo \u2581 \uD83D\uDE00", read.getString("str"));
        }
    }

    @Test
    void of_validatesTensorsAndNamesTheModel() {
        var overlap = List.of(new GgufTensorInfo("a", new long[] {16}, GgmlType.F32, 0),
                new GgufTensorInfo("b", new long[] {8}, GgmlType.F32, 32));
        var e = assertThrows(ModelFormatException.class,
                () -> GgufFile.of("<mine>", new LinkedHashMap<>(), overlap, MemorySegment.ofArray(new byte[128])));
        assertTrue(e.getMessage().startsWith("<mine>: tensors 'a'"), e.getMessage());
        var tooSmall = List.of(new GgufTensorInfo("a", new long[] {16}, GgmlType.F32, 0));
        var e2 = assertThrows(ModelFormatException.class,
                () -> GgufFile.of("<mine>", new LinkedHashMap<>(), tooSmall, MemorySegment.ofArray(new byte[32])));
        assertEquals("<mine>: truncated file: tensor 'a' needs bytes 0 to 64 but the data has only 32 bytes",
                e2.getMessage());
    }

    @Test
    void writer_rejectsWrongContentLength_andLeavesNoFile() {
        Path p = dir.resolve("short.gguf");
        var tensors = List.of(new GgufTensorInfo("a", new long[] {8}, GgmlType.F32, 0));
        var e = assertThrows(IllegalArgumentException.class, () -> GgufWriter.write(p, new LinkedHashMap<>(),
                tensors, (t, out) -> out.write(ByteBuffer.allocate(4))));
        assertEquals("tensor 'a' has 32 bytes but 4 were written", e.getMessage());
        assertFalse(Files.exists(p));
        assertFalse(Files.exists(dir.resolve("short.gguf.tmp")));
    }

    @Test
    void writer_rejectsUnorderedOffsets() {
        var tensors = List.of(new GgufTensorInfo("a", new long[] {8}, GgmlType.F32, 32),
                new GgufTensorInfo("b", new long[] {8}, GgmlType.F32, 0));
        assertThrows(IllegalArgumentException.class, () -> GgufWriter.write(dir.resolve("x.gguf"),
                new LinkedHashMap<>(), tensors, (t, out) -> out.write(ByteBuffer.allocate(32))));
    }
}
