package dev.ultrakv.kvcache.codec;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

/** Seeded slot contents for the codec tests, and the slot fields their bounds are derived from. */
final class CodecTestData {
    /** Unit roundoff of float: half an ulp of 1. */
    static final double FLOAT_U = 0x1p-24;
    /** Head sizes tested: stories260K's 8, one vector, the common 64 and 128, and 96 (groups of 48). */
    static final int[] HEAD_SIZES = {8, 16, 64, 128, 96};

    private CodecTestData() {
    }

    /** The shapes of slot contents the round-trip bounds must hold for. */
    enum Shape {
        UNIFORM, GAUSSIAN, CONSTANT, ZEROS, OUTLIER, TINY, MIXED_SIGNS, POSITIVE_OFFSET;

        float[] slot(SplittableRandom random, int headSize) {
            float[] a = new float[headSize];
            float constant = (float) (random.nextDouble() * 20 - 10);
            int outlier = random.nextInt(headSize);
            for (int c = 0; c < headSize; c++) {
                a[c] = switch (this) {
                    case UNIFORM -> (float) (random.nextDouble() * 2 - 1);
                    case GAUSSIAN -> (float) (random.nextGaussian() * 3);
                    case CONSTANT -> constant;
                    case ZEROS -> 0f;
                    case OUTLIER -> c == outlier ? 5000f : (float) (random.nextDouble() * 2 - 1);
                    case TINY -> (float) ((random.nextDouble() * 2 - 1) * 1e-6);
                    case MIXED_SIGNS -> (float) ((c % 2 == 0 ? 1 : -1) * (100 + random.nextDouble() * 400));
                    case POSITIVE_OFFSET -> (float) (1000 + random.nextDouble());
                };
            }
            return a;
        }
    }

    /** {@code n} floats uniform in [-1, 1). */
    static float[] floats(SplittableRandom random, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return a;
    }

    /** Channels per quantization group at {@code headSize} (the rule of {@link ChannelGroups}, restated). */
    static int groupSize(int headSize) {
        if (headSize <= 64) {
            return headSize;
        }
        for (int g = 64; g >= 8; g -= 8) {
            if (headSize % g == 0) {
                return g;
            }
        }
        throw new AssertionError(headSize);
    }

    /** The float16 minimum of group {@code g} of an INT4 or INT2 slot: the second half of its 4-byte header. */
    static float groupMin(MemorySegment segment, long slot, int g) {
        return Float.float16ToFloat(segment.get(CodecVectors.F16_LE, slot + 4L * g + 2));
    }

    /** Whether the codec stores a minimum per group (the asymmetric integers). */
    static boolean asymmetric(KvCodecKind kind) {
        return kind == KvCodecKind.INT4 || kind == KvCodecKind.INT2;
    }
}
