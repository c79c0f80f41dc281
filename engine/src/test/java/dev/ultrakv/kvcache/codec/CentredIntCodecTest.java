package dev.ultrakv.kvcache.codec;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The zero-centred INT4 and INT2 value codecs of caches with per-channel keys: one float16 scale per group
 * ({@code s = f16(absmax / centre)}, {@code centre = (2^b - 1) / 2}), minimum {@code -centre · s}. A value decodes
 * within {@code s / 2 + centre |s - σ|}; attention over a run equals attention over its decoded values up to the
 * rounding of the sums.
 */
class CentredIntCodecTest {

    @ParameterizedTest
    @EnumSource(value = KvCodecKind.class, names = {"INT4", "INT2"})
    void slotsCostOneScalePerGroup(KvCodecKind kind) {
        KvCodec codec = KvCodecs.values(kind);
        assertEquals(kind, codec.kind());
        assertEquals(kind == KvCodecKind.INT4 ? 34 : 18, codec.slotBytes(64));
        assertEquals(kind == KvCodecKind.INT4 ? 6 : 4, codec.slotBytes(8));
    }

    @ParameterizedTest
    @EnumSource(value = KvCodecKind.class, names = {"INT4", "INT2"})
    void roundTripStaysWithinHalfAStep(KvCodecKind kind) {
        KvCodec codec = KvCodecs.values(kind);
        double centre = ((1 << kind.bits()) - 1) / 2.0;
        SplittableRandom random = new SplittableRandom(5 + kind.ordinal());
        try (Arena arena = Arena.ofConfined()) {
            for (int headSize : CodecTestData.HEAD_SIZES) {
                MemorySegment segment = arena.allocate(codec.slotBytes(headSize) + 1);
                int group = CodecTestData.groupSize(headSize);
                for (CodecTestData.Shape shape : CodecTestData.Shape.values()) {
                    float[] x = shape.slot(random, headSize);
                    codec.encode(x, 0, headSize, segment, 1);
                    float[] decoded = new float[headSize];
                    codec.decode(segment, 1, headSize, decoded, 0);
                    for (int from = 0; from < headSize; from += group) {
                        double absmax = 0;
                        for (int c = from; c < from + group; c++) {
                            absmax = Math.max(absmax, Math.abs(x[c]));
                        }
                        double sigma = absmax / centre;
                        double s = Float.float16ToFloat(Float.floatToFloat16((float) sigma));
                        double bound = s / 2 + centre * Math.abs(s - sigma) + 4 * CodecTestData.FLOAT_U * absmax;
                        for (int c = from; c < from + group; c++) {
                            assertTrue(Math.abs((double) x[c] - decoded[c]) <= bound, kind + " " + shape
                                    + " headSize " + headSize + " channel " + c + ": " + x[c] + " as " + decoded[c]);
                        }
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = KvCodecKind.class, names = {"INT4", "INT2"})
    void attentionEqualsTheDecodedTwin(KvCodecKind kind) {
        KvCodec codec = KvCodecs.values(kind);
        SplittableRandom random = new SplittableRandom(9 + kind.ordinal());
        try (Arena arena = Arena.ofConfined()) {
            for (int headSize : CodecTestData.HEAD_SIZES) {
                for (int count : KvCodecAttentionTest.COUNTS) {
                    var run = KvCodecAttentionTest.EncodedRun.random(codec, arena, random, headSize, count, 3);
                    float[] q = CodecTestData.floats(random, headSize);
                    float[] weights = CodecTestData.floats(random, count);
                    float[] scores = new float[count];
                    float[] out = new float[headSize];
                    codec.attentionScores(q, 0, headSize, run.segment(), run.offset(), count, scores, 0);
                    codec.attentionValues(weights, 0, run.segment(), run.offset(), count, headSize, out, 0);
                    for (int t = 0; t < count; t++) {
                        float twin = 0f;
                        double magnitude = 0;
                        for (int c = 0; c < headSize; c++) {
                            twin += q[c] * run.decoded()[t][c];
                            // Terms of the codes' and the minimum's sums: each within 2 max|x̂| (|m| ≤ max|x̂| + s/2).
                            magnitude += Math.abs(q[c]) * 3 * maxAbs(run.decoded()[t]);
                        }
                        twin /= (float) Math.sqrt(headSize);
                        assertEquals(twin, scores[t], KvCodecAttentionTest.sumTolerance(headSize,
                                magnitude / Math.sqrt(headSize)), kind + " headSize " + headSize + " slot " + t);
                    }
                    for (int c = 0; c < headSize; c++) {
                        float twin = 0f;
                        double magnitude = 0;
                        for (int t = 0; t < count; t++) {
                            twin += weights[t] * run.decoded()[t][c];
                            magnitude += Math.abs(weights[t]) * 3 * maxAbs(run.decoded()[t]);
                        }
                        assertEquals(twin, out[c], KvCodecAttentionTest.sumTolerance(count, magnitude),
                                kind + " headSize " + headSize + " count " + count + " channel " + c);
                    }
                }
            }
        }
    }

    private static double maxAbs(float[] x) {
        double max = 0;
        for (float v : x) {
            max = Math.max(max, Math.abs(v));
        }
        return max;
    }
}
