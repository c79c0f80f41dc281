package dev.ultrakv.model.gguf;

import dev.ultrakv.model.ModelFormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each kind of broken file gives a {@link ModelFormatException} naming the file and the problem. */
class GgufMalformedTest {

    private static final int F32 = 0;
    private static final int Q8_0 = 8;
    private static final int Q4_K = 12;
    private static final int Q6_K = 14;
    private static final int IQ2_XXS = 16;
    private static final int UINT32 = 4;
    private static final int STRING = 8;
    private static final int ARRAY = 9;

    @TempDir
    Path dir;

    /** Writes GGUF fields by hand, so that each can be broken. */
    private static final class Raw {
        final ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        Raw u32(int v) {
            buf.putInt(v);
            return this;
        }

        Raw u64(long v) {
            buf.putLong(v);
            return this;
        }

        Raw str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            buf.putLong(b.length).put(b);
            return this;
        }

        Raw header(int version, long tensors, long kvs) {
            return u32(GgufFile.MAGIC).u32(version).u64(tensors).u64(kvs);
        }

        Raw kvString(String key, String value) {
            return str(key).u32(STRING).str(value);
        }

        Raw kvU32(String key, int value) {
            return str(key).u32(UINT32).u32(value);
        }

        Raw tensor(String name, int type, long offset, long... dims) {
            str(name).u32(dims.length);
            for (long d : dims) {
                u64(d);
            }
            return u32(type).u64(offset);
        }

        /** Zero padding to 32, then {@code n} bytes of data. */
        Raw data(int n) {
            while (buf.position() % 32 != 0) {
                buf.put((byte) 0);
            }
            buf.put(new byte[n]);
            return this;
        }

        byte[] bytes() {
            return Arrays.copyOf(buf.array(), buf.position());
        }
    }

    /** A valid file: one metadata key, tensors 'a' [8] and 'b' [8], F32, at offsets 0 and 32. */
    private static Raw valid() {
        return new Raw().header(3, 2, 1).kvString("general.architecture", "llama")
                .tensor("a", F32, 0, 8).tensor("b", F32, 32, 8).data(64);
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    /** Reads {@code bytes} as a file and checks the message starts with the file and holds {@code problem}. */
    private ModelFormatException rejects(byte[] bytes, String problem) throws IOException {
        Path p = write("bad.gguf", bytes);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> GgufFile.read(p).close());
        assertTrue(e.getMessage().startsWith(p + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(problem), () -> "expected '" + problem + "' in: " + e.getMessage());
        return e;
    }

    @Test
    void validFile_isRead() throws IOException {
        try (GgufFile f = GgufFile.read(write("ok.gguf", valid().bytes()))) {
            assertEquals(2, f.tensors().size());
            assertEquals(32, f.tensorData("b").byteSize());
        }
    }

    @Test
    void missingFile() {
        Path p = dir.resolve("nope.gguf");
        var e = assertThrows(ModelFormatException.class, () -> GgufFile.read(p));
        assertEquals(p + ": file not found", e.getMessage());
    }

    @Test
    void directory_isNotARegularFile() {
        var e = assertThrows(ModelFormatException.class, () -> GgufFile.read(dir));
        assertEquals(dir + ": not a regular file (a directory)", e.getMessage());
    }

    @Test
    void wrongMagic() throws IOException {
        byte[] b = valid().bytes();
        b[0] = 'X';
        rejects(b, "not a GGUF file (magic 0x46554758, expected 0x46554747 'GGUF')");
        rejects("hi".getBytes(StandardCharsets.US_ASCII), "not a GGUF file (only 2 bytes");
        rejects(new byte[0], "not a GGUF file (only 0 bytes");
    }

    @Test
    void unsupportedVersions() throws IOException {
        rejects(new Raw().header(4, 0, 0).bytes(), "unsupported GGUF version 4 (supported: 2, 3)");
        rejects(new Raw().header(1, 0, 0).bytes(), "GGUF version 1 is not supported (supported: 2, 3)");
        rejects(new Raw().header(Integer.reverseBytes(3), 0, 0).bytes(), "big-endian GGUF file");
        try (GgufFile v2 = GgufFile.read(write("v2.gguf", new Raw().header(2, 0, 0).bytes()))) {
            assertEquals(2, v2.version());
        }
    }

    @Test
    void truncatedHeader() throws IOException {
        rejects(Arrays.copyOf(valid().bytes(), 12), "truncated file: it ends (at byte 12) inside the header");
    }

    @Test
    void truncatedMetadata() throws IOException {
        // header (24) + key length (8) + 10 bytes of the key
        rejects(Arrays.copyOf(valid().bytes(), 24 + 8 + 10), "truncated file: it ends (at byte 42) inside");
        // cut inside the value
        rejects(Arrays.copyOf(valid().bytes(), 24 + 8 + 20 + 4 + 8 + 2),
                "inside the value of metadata key 'general.architecture'");
    }

    @Test
    void truncatedTensorInfos() throws IOException {
        byte[] full = new Raw().header(3, 2, 1).kvString("general.architecture", "llama")
                .tensor("a", F32, 0, 8).bytes();
        rejects(Arrays.copyOf(full, full.length - 3), "inside tensor info 'a'");
        // the second tensor's info is missing entirely
        rejects(full, "inside tensor info #1");
    }

    @Test
    void truncatedTensorData() throws IOException {
        byte[] full = valid().bytes();
        rejects(Arrays.copyOf(full, full.length - 4), "truncated file: tensor 'b' needs bytes");
        // no data at all: the data section would start past the end
        rejects(Arrays.copyOf(full, full.length - 64 - 1), "the tensor data should start at byte");
    }

    @Test
    void tensorOutOfBounds() throws IOException {
        byte[] b = new Raw().header(3, 1, 0).tensor("a", F32, 1 << 20, 8).data(64).bytes();
        rejects(b, "tensor 'a' needs bytes");
    }

    @Test
    void absurdStringLength() throws IOException {
        byte[] b = new Raw().header(3, 0, 1).u64(1L << 40).u32(0).bytes();
        rejects(b, "absurd string length 1099511627776 in metadata key #0 (the file has only 36 bytes)");
        byte[] huge = new Raw().header(3, 0, 1).u64(-1).bytes();
        rejects(huge, "absurd string length 18446744073709551615");
    }

    @Test
    void absurdCounts() throws IOException {
        rejects(new Raw().header(3, 1L << 40, 0).bytes(), "absurd number of tensors: 1099511627776");
        rejects(new Raw().header(3, 0, -1).bytes(), "absurd number of metadata key-value pairs: 18446744073709551615");
        byte[] array = new Raw().header(3, 0, 1).str("tokenizer.ggml.tokens").u32(ARRAY).u32(STRING).u64(1L << 50)
                .bytes();
        rejects(array, "absurd length 1125899906842624 of metadata array 'tokenizer.ggml.tokens'");
        byte[] dims = new Raw().header(3, 1, 0).tensor("a", F32, 0, 1L << 40, 1L << 40).data(0).bytes();
        rejects(dims, "tensor 'a' has an absurd shape");
        byte[] nDims = new Raw().header(3, 1, 0).str("a").u32(7).bytes();
        rejects(nDims, "tensor 'a' has 7 dimensions (at most 4)");
    }

    @Test
    void unknownValueType() throws IOException {
        rejects(new Raw().header(3, 0, 1).str("k").u32(13).u32(0).bytes(),
                "metadata key 'k' has unknown value type 13 (GGUF value types are 0 to 12)");
        rejects(new Raw().header(3, 0, 1).str("k").u32(ARRAY).u32(99).u64(0).bytes(),
                "metadata array 'k' has unknown element type 99");
        rejects(new Raw().header(3, 0, 1).str("k").u32(ARRAY).u32(ARRAY).u64(0).bytes(),
                "nested arrays are not supported");
    }

    @Test
    void invalidValues() throws IOException {
        rejects(new Raw().header(3, 0, 2).kvU32("k", 1).kvU32("k", 2).bytes(), "duplicate metadata key 'k'");
        byte[] badUtf8 = new Raw().header(3, 0, 1).str("k").u32(STRING).u64(2).u32(0xFFFF).bytes();
        rejects(Arrays.copyOf(badUtf8, badUtf8.length - 2),
                "invalid UTF-8 in a string in the value of metadata key 'k'");
        byte[] badBool = new Raw().header(3, 0, 1).str("k").u32(7).u32(0x02).bytes();
        rejects(Arrays.copyOf(badBool, badBool.length - 3), "invalid boolean 2");
        byte[] dupTensor = new Raw().header(3, 2, 0).tensor("a", F32, 0, 8).tensor("a", F32, 32, 8).data(64).bytes();
        rejects(dupTensor, "duplicate tensor 'a'");
    }

    @Test
    void unsupportedTensorType() throws IOException {
        byte[] b = new Raw().header(3, 1, 0).tensor("blk.0.ffn_down.weight", IQ2_XXS, 0, 256, 4).data(1024).bytes();
        rejects(b, "tensor 'blk.0.ffn_down.weight' has GGML type IQ2_XXS (id 16), which UltraKV does not support"
                + " (supported: F32 (0), F16 (1), Q4_0 (2), Q4_1 (3), Q5_0 (6), Q5_1 (7), Q8_0 (8), Q2_K (10),"
                + " Q3_K (11), Q4_K (12), Q5_K (13), Q6_K (14), BF16 (30))");
        byte[] unknown = new Raw().header(3, 1, 0).tensor("t", 1000, 0, 8).data(32).bytes();
        rejects(unknown, "tensor 't' has GGML type id 1000, which UltraKV does not support");
    }

    @Test
    void partialBlocks() throws IOException {
        byte[] b = new Raw().header(3, 1, 0).tensor("q", Q8_0, 0, 33, 2).data(1024).bytes();
        rejects(b, "tensor 'q' has rows of 33 elements, not a multiple of Q8_0's block size 32");
    }

    @Test
    void partialSuperBlocks() throws IOException {
        byte[] b = new Raw().header(3, 1, 0).tensor("blk.0.attn_q.weight", Q4_K, 0, 128, 2).data(1024).bytes();
        rejects(b, "tensor 'blk.0.attn_q.weight' has rows of 128 elements, not a multiple of Q4_K's block size 256");
    }

    /** Two rows of 256 Q6_K elements take 2 × 210 bytes: a data section of 416 is too short by 4. */
    @Test
    void superBlockTensorLongerThanItsData() throws IOException {
        byte[] b = new Raw().header(3, 1, 0).tensor("output.weight", Q6_K, 0, 256, 2).data(416).bytes();
        rejects(b, "tensor 'output.weight' needs bytes");
    }

    @Test
    void misalignedOffset() throws IOException {
        byte[] b = new Raw().header(3, 2, 0).tensor("a", F32, 0, 8).tensor("b", F32, 36, 4).data(64).bytes();
        rejects(b, "tensor 'b' has offset 36, not a multiple of the alignment 32");
    }

    @Test
    void overlappingTensors() throws IOException {
        byte[] b = new Raw().header(3, 2, 0).tensor("a", F32, 0, 16).tensor("b", F32, 32, 8).data(64).bytes();
        rejects(b, "tensors 'a' (data bytes 0 to 64) and 'b' (from 32) overlap");
    }

    @Test
    void alignmentNotAPowerOfTwo() throws IOException {
        byte[] b = new Raw().header(3, 0, 1).kvU32("general.alignment", 48).bytes();
        rejects(b, "general.alignment 48 is not a power of two");
        byte[] zero = new Raw().header(3, 0, 1).kvU32("general.alignment", 0).bytes();
        rejects(zero, "general.alignment 0 is not a power of two");
        byte[] text = new Raw().header(3, 0, 1).kvString("general.alignment", "32").bytes();
        rejects(text, "general.alignment has type STRING, expected UINT32");
    }

    @Test
    void otherAlignment_isHonoured() throws IOException {
        Raw r = new Raw().header(3, 1, 1).kvU32("general.alignment", 64).tensor("a", F32, 0, 8);
        while (r.buf.position() % 64 != 0) {
            r.buf.put((byte) 0);
        }
        r.buf.put(new byte[32]);
        try (GgufFile f = GgufFile.read(write("a64.gguf", r.bytes()))) {
            assertEquals(64, f.alignment());
            assertEquals(128, f.dataOffset());
        }
    }
}
