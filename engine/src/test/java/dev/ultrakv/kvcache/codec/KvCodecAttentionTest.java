package dev.ultrakv.kvcache.codec;

import dev.ultrakv.tensor.Attention;
import dev.ultrakv.tensor.VectorOps;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Attention over runs of encoded slots equals a scalar twin that decodes each slot and computes in float: to
 * within the rounding of two sums for the integer codecs, bit for bit for float32 (the float kernels' own) and
 * float16 (the float kernels over the decoded run). Results depend only on the run's contents and length: not on
 * the run's address, nor on whether the JIT has compiled the kernel.
 */
class KvCodecAttentionTest {
    /** Slots per run tested: one, a few, a block of 16, and one more than a block. */
    static final int[] COUNTS = {1, 5, 16, 17};
    /** Byte offset of the first run: odd, so that nothing relies on aligned slots (float runs use 4 and 8). */
    static final long[] OFFSETS = {3, 68};

    /** A run of {@code count} random slots encoded at {@code offset}, with their decoded values. */
    record EncodedRun(MemorySegment segment, long offset, int headSize, int count, float[][] decoded) {
        static EncodedRun random(KvCodec codec, Arena arena, SplittableRandom random, int headSize, int count,
                                 long offset) {
            long slotBytes = codec.slotBytes(headSize);
            MemorySegment segment = arena.allocate(offset + count * slotBytes + 64);
            float[][] decoded = new float[count][headSize];
            for (int t = 0; t < count; t++) {
                // Slots of varied scale and offset, so that scales and minima differ between slots.
                float[] x = CodecTestData.floats(random, headSize);
                float gain = (float) Math.exp(random.nextDouble() * 4 - 2);
                float shift = (float) (random.nextDouble() * 2 - 1);
                for (int c = 0; c < headSize; c++) {
                    x[c] = x[c] * gain + shift;
                }
                codec.encode(x, 0, headSize, segment, offset + t * slotBytes);
                codec.decode(segment, offset + t * slotBytes, headSize, decoded[t], 0);
            }
            return new EncodedRun(segment, offset, headSize, count, decoded);
        }

        long slot(KvCodec codec, int t) {
            return offset + t * codec.slotBytes(headSize);
        }
    }

    private static long floatAligned(KvCodecKind kind, long offset) {
        return kind == KvCodecKind.F32 || kind == KvCodecKind.F16 ? offset / 4 * 4 + 4 : offset;
    }

    @ParameterizedTest
    @EnumSource(KvCodecKind.class)
    void scoresEqualTheDecodedTwin(KvCodecKind kind) {
        KvCodec codec = KvCodecs.of(kind);
        SplittableRandom random = new SplittableRandom(11 + kind.ordinal());
        try (Arena arena = Arena.ofConfined()) {
            for (int headSize : CodecTestData.HEAD_SIZES) {
                for (int count : COUNTS) {
                    EncodedRun run = EncodedRun.random(codec, arena, random, headSize, count,
                            floatAligned(kind, OFFSETS[0]));
                    float[] q = CodecTestData.floats(random, headSize + 2);
                    float[] scores = new float[count + 1];
                    codec.attentionScores(q, 2, headSize, run.segment(), run.offset(), count, scores, 1);
                    for (int t = 0; t < count; t++) {
                        String where = kind + " headSize " + headSize + " count " + count + " slot " + t;
                        if (kind == KvCodecKind.F16) {
                            assertEquals(kernelScore(q, 2, run.decoded()[t]), scores[1 + t], where);
                        } else {
                            float twin = 0f;
                            double magnitude = 0;
                            for (int c = 0; c < headSize; c++) {
                                twin += q[2 + c] * run.decoded()[t][c];
                                magnitude += Math.abs(q[2 + c]) * (Math.abs(run.decoded()[t][c])
                                        + Math.abs(minOf(codec, run, t, c)));
                            }
                            twin /= (float) Math.sqrt(headSize);
                            double tolerance = sumTolerance(headSize, magnitude / Math.sqrt(headSize));
                            assertEquals(twin, scores[1 + t], tolerance, where);
                        }
                    }
                }
            }
        }
    }

    /** The float kernels' score of {@code q} against one float key: what F16 must reproduce bit for bit. */
    private static float kernelScore(float[] q, int qOffset, float[] key) {
        float[] score = new float[1];
        Attention.attentionScores(q, qOffset, key, 0, key.length, key.length, 1, score, 0);
        return score[0];
    }

    /** The minimum of the group holding channel {@code c} of slot {@code t}: 0 for the symmetric codecs. */
    private static float minOf(KvCodec codec, EncodedRun run, int t, int c) {
        if (!CodecTestData.asymmetric(codec.kind())) {
            return 0f;
        }
        return CodecTestData.groupMin(run.segment(), run.slot(codec, t), c / CodecTestData.groupSize(run.headSize()));
    }

    /**
     * Room for the rounding of two float sums of {@code n} terms in any order, with or without fused
     * multiply-add, whose absolute values sum to {@code magnitude}: {@code 2 (n + 4) u magnitude}. The integer
     * codecs' sums add a group minimum's share separately, whose absolute values the magnitude includes.
     */
    static double sumTolerance(int n, double magnitude) {
        return 2 * (n + 4) * CodecTestData.FLOAT_U * magnitude;
    }

    @ParameterizedTest
    @EnumSource(KvCodecKind.class)
    void valuesEqualTheDecodedTwin(KvCodecKind kind) {
        KvCodec codec = KvCodecs.of(kind);
        SplittableRandom random = new SplittableRandom(23 + kind.ordinal());
        try (Arena arena = Arena.ofConfined()) {
            for (int headSize : CodecTestData.HEAD_SIZES) {
                for (int count : COUNTS) {
                    EncodedRun run = EncodedRun.random(codec, arena, random, headSize, count,
                            floatAligned(kind, OFFSETS[1]));
                    float[] weights = CodecTestData.floats(random, count + 3);
                    float[] out = CodecTestData.floats(random, headSize + 1);
                    float[] twin = out.clone();
                    codec.attentionValues(weights, 3, run.segment(), run.offset(), count, headSize, out, 1);
                    if (kind == KvCodecKind.F16) {
                        for (int t = 0; t < count; t++) {
                            VectorOps.axpy(weights[3 + t], run.decoded()[t], 0, twin, 1, headSize);
                        }
                        assertArrayEquals(twin, out, kind + " headSize " + headSize + " count " + count);
                        continue;
                    }
                    for (int c = 0; c < headSize; c++) {
                        double magnitude = Math.abs(twin[1 + c]);
                        for (int t = 0; t < count; t++) {
                            float v = run.decoded()[t][c];
                            twin[1 + c] += weights[3 + t] * v;
                            magnitude += Math.abs(weights[3 + t]) * (Math.abs(v) + Math.abs(minOf(codec, run, t, c)));
                        }
                        assertEquals(twin[1 + c], out[1 + c], sumTolerance(count, magnitude),
                                kind + " headSize " + headSize + " count " + count + " channel " + c);
                    }
                }
            }
        }
    }

    @Test
    void float32IsBitIdenticalToTheFloatKernels() {
        KvCodec codec = KvCodecs.of(KvCodecKind.F32);
        SplittableRandom random = new SplittableRandom(31);
        try (Arena arena = Arena.ofConfined()) {
            for (int headSize : CodecTestData.HEAD_SIZES) {
                EncodedRun run = EncodedRun.random(codec, arena, random, headSize, 16, 64);
                float[] q = CodecTestData.floats(random, headSize);
                float[] scores = new float[16];
                float[] expectedScores = new float[16];
                codec.attentionScores(q, 0, headSize, run.segment(), 64, 16, scores, 0);
                Attention.attentionScores(q, 0, run.segment(), 64 / Float.BYTES, headSize, headSize, 16,
                        expectedScores, 0);
                assertArrayEquals(expectedScores, scores, "scores, headSize " + headSize);
                float[] out = CodecTestData.floats(random, headSize);
                float[] expectedOut = out.clone();
                codec.attentionValues(scores, 0, run.segment(), 64, 16, headSize, out, 0);
                Attention.attentionValues(scores, 0, run.segment(), 64 / Float.BYTES, headSize, headSize, 16,
                        expectedOut, 0);
                assertArrayEquals(expectedOut, out, "values, headSize " + headSize);
            }
            MemorySegment segment = arena.allocate(1024);
            assertThrows(IllegalArgumentException.class,
                    () -> codec.attentionScores(new float[8], 0, 8, segment, 2, 1, new float[1], 0));
        }
    }

    /** The same run gives the same bits twice and at any other address (any byte offset for the integer codecs). */
    @ParameterizedTest
    @EnumSource(KvCodecKind.class)
    void resultsDoNotDependOnTheRunsAddress(KvCodecKind kind) {
        assertSameResults(kind, 64, 16, 40, 1);
    }

    /**
     * The vector kernels give the same bits interpreted, compiled by C1 and by C2: the calls cross the JIT's
     * compile thresholds (F32 and F16 run the float kernels, which CanonicalOrderTest checks the same way). Each
     * call is as small as the vector path allows, one group of four slots of the shortest vectorised head, so
     * that the slow tiers pass quickly; on a loaded machine the test may end before C2's code is installed.
     */
    @ParameterizedTest
    @EnumSource(value = KvCodecKind.class, names = {"INT8", "INT4", "INT2"})
    void resultsDoNotDependOnTheJitState(KvCodecKind kind) {
        int headSize = CodecVectors.L * (Byte.SIZE / kind.bits());
        assertSameResults(kind, headSize, CodecVectors.SLOTS_PER_SUM, JIT_CALLS, 1000);
    }

    /** Calls that reach C2's thresholds (5000 invocations, after C1's) with room for its compile: ~0.5 s each. */
    static final int JIT_CALLS = 12_000;

    /**
     * Scores and values of one run of {@code count} slots, {@code calls} times, at a new address every
     * {@code moveEvery} calls: always the bits of the first call.
     */
    private static void assertSameResults(KvCodecKind kind, int headSize, int count, int calls, int moveEvery) {
        KvCodec codec = KvCodecs.of(kind);
        SplittableRandom random = new SplittableRandom(41 + kind.ordinal());
        try (Arena arena = Arena.ofConfined()) {
            EncodedRun run = EncodedRun.random(codec, arena, random, headSize, count, 8);
            long runBytes = count * codec.slotBytes(headSize);
            float[] q = CodecTestData.floats(random, headSize);
            float[] weights = CodecTestData.floats(random, count);
            float[] expectedScores = new float[count];
            float[] expectedOut = new float[headSize];
            codec.attentionScores(q, 0, headSize, run.segment(), 8, count, expectedScores, 0);
            codec.attentionValues(weights, 0, run.segment(), 8, count, headSize, expectedOut, 0);
            MemorySegment other = arena.allocate(runBytes + 64);
            float[] scores = new float[count];
            float[] out = new float[headSize];
            long at = 8;
            MemorySegment where = run.segment();
            for (int call = 0; call < calls; call++) {
                if (call % moveEvery == 0) {
                    at = kind == KvCodecKind.F32 || kind == KvCodecKind.F16 ? 4 * (call % 13) : call % 61;
                    other.fill((byte) 0);
                    MemorySegment.copy(run.segment(), 8, other, at, runBytes);
                    where = other;
                }
                codec.attentionScores(q, 0, headSize, where, at, count, scores, 0);
                assertArrayEquals(expectedScores, scores, kind + " scores, call " + call + " at " + at);
                java.util.Arrays.fill(out, 0f);
                codec.attentionValues(weights, 0, where, at, count, headSize, out, 0);
                assertArrayEquals(expectedOut, out, kind + " values, call " + call + " at " + at);
            }
        }
    }

    /** The integer codecs sum four slots at a time; a slot's score is the same alone or in any run around it. */
    @ParameterizedTest
    @EnumSource(KvCodecKind.class)
    void aSlotsScoreDoesNotDependOnTheRunItIsPartOf(KvCodecKind kind) {
        KvCodec codec = KvCodecs.of(kind);
        SplittableRandom random = new SplittableRandom(53 + kind.ordinal());
        try (Arena arena = Arena.ofConfined()) {
            for (int headSize : new int[] {8, 128}) {
                EncodedRun run = EncodedRun.random(codec, arena, random, headSize, 16, 64);
                float[] q = CodecTestData.floats(random, headSize);
                float[] all = new float[16];
                codec.attentionScores(q, 0, headSize, run.segment(), 64, 16, all, 0);
                for (int t = 0; t < 16; t++) {
                    for (int count = 1; count <= Math.min(5, 16 - t); count += 2) {
                        float[] part = new float[count];
                        codec.attentionScores(q, 0, headSize, run.segment(), run.slot(codec, t), count, part, 0);
                        assertEquals(all[t], part[0], kind + " headSize " + headSize + " slot " + t + " first of "
                                + count);
                    }
                }
            }
        }
    }

    /**
     * The vector kernels of the integer codecs compute exactly the order their notes document, whatever the
     * slot's place among the four summed together: a scalar model with {@link Math#fma} gives the same bits.
     */
    @ParameterizedTest
    @EnumSource(value = KvCodecKind.class, names = {"INT8", "INT4", "INT2"})
    void vectorScoresFollowTheDocumentedOrderBitForBit(KvCodecKind kind) {
        Assumptions.assumeTrue(CodecVectors.VECTOR_KERNELS, "no vector kernels on this CPU");
        KvCodec codec = KvCodecs.of(kind);
        SplittableRandom random = new SplittableRandom(61 + kind.ordinal());
        try (Arena arena = Arena.ofConfined()) {
            for (int headSize : new int[] {64, 128}) {
                EncodedRun run = EncodedRun.random(codec, arena, random, headSize, 7, 5);
                float[] q = CodecTestData.floats(random, headSize);
                float[] scores = new float[7];
                codec.attentionScores(q, 0, headSize, run.segment(), run.offset(), 7, scores, 0);
                for (int t = 0; t < 7; t++) {
                    assertEquals(modelScore(kind, q, run.segment(), run.slot(codec, t), headSize), scores[t],
                            kind + " headSize " + headSize + " slot " + t);
                }
            }
        }
    }

    /**
     * The documented order in scalar Java: per group, lane {@code j} takes the products of channels
     * {@code j, j + L, ...} of each code vector in the order the kernel unpacks them (for the packed codecs: byte
     * vector by byte vector, then shift by shift), by fused multiply-add; the group's lanes are scaled into the
     * slot's lanes by {@code fma(acc, s, total)} and, for the asymmetric codecs, {@code fma(Q, m, total)} with
     * {@code Q} the query's vectors of the group added lane by lane; then the tree, then the division.
     */
    private static float modelScore(KvCodecKind kind, float[] q, MemorySegment segment, long slot, int headSize) {
        int lanes = CodecVectors.L;
        int group = CodecTestData.groupSize(headSize);
        int groups = headSize / group;
        boolean asymmetric = CodecTestData.asymmetric(kind);
        int perByte = 8 / kind.bits();
        int part = group / perByte;
        long codes = slot + (long) groups * (asymmetric ? 4 : 2);
        float[] total = new float[lanes];
        for (int g = 0; g < groups; g++) {
            float[] acc = new float[lanes];
            for (int i = 0; i < part; i += lanes) {
                for (int k = 0; k < perByte; k++) {
                    for (int j = 0; j < lanes; j++) {
                        int b = segment.get(CodecVectors.I8, codes + (long) g * part + i + j);
                        int code = perByte == 1 ? b : (b & 0xFF) >>> (k * kind.bits()) & ((1 << kind.bits()) - 1);
                        acc[j] = Math.fma(code, q[g * group + k * part + i + j], acc[j]);
                    }
                }
            }
            long header = slot + (long) g * (asymmetric ? 4 : 2);
            float scale = Float.float16ToFloat(segment.get(CodecVectors.F16_LE, header));
            for (int j = 0; j < lanes; j++) {
                total[j] = Math.fma(acc[j], scale, total[j]);
            }
            if (asymmetric) {
                float min = CodecTestData.groupMin(segment, slot, g);
                for (int j = 0; j < lanes; j++) {
                    float qSum = 0f;
                    for (int c = g * group; c < (g + 1) * group; c += lanes) {
                        qSum += q[c + j];
                    }
                    total[j] = Math.fma(qSum, min, total[j]);
                }
            }
        }
        return treeSum(total) / (float) Math.sqrt(headSize);
    }

    /** Lane {@code i} plus lane {@code i + n/2}, then the same on the first half, down to one lane. */
    private static float treeSum(float[] lanes) {
        float[] v = lanes.clone();
        for (int half = v.length / 2; half >= 1; half /= 2) {
            for (int i = 0; i < half; i++) {
                v[i] = v[i] + v[i + half];
            }
        }
        return v[0];
    }

    @ParameterizedTest
    @EnumSource(KvCodecKind.class)
    void runsOutsideTheSegmentAreRefusedBeforeAnyWork(KvCodecKind kind) {
        KvCodec codec = KvCodecs.of(kind);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(codec.slotBytes(16) * 4);
            float[] scores = new float[5];
            assertThrows(IndexOutOfBoundsException.class,
                    () -> codec.attentionScores(new float[16], 0, 16, segment, 0, 5, scores, 0));
            float[] out = new float[16];
            assertThrows(IndexOutOfBoundsException.class,
                    () -> codec.attentionValues(new float[5], 0, segment, 0, 5, 16, out, 0));
            assertArrayEquals(new float[16], out);
            codec.attentionValues(new float[0], 0, segment, 0, 0, 16, out, 0);
            assertArrayEquals(new float[16], out, "an empty run adds nothing");
            assertTrue(scores[0] == 0f);
        }
    }
}
