package dev.ultrakv.tensor;

import java.util.Arrays;

/**
 * Encodes one super-block of 256 floats into a K-quant type (Q2_K to Q6_K), bit for bit as ggml's
 * {@code quantize_row_q*_K_ref} does (what {@code llama-quantize} runs without an importance matrix).
 *
 * <p>Bit identity needs ggml's arithmetic exactly: every operation in float (ggml-base is built for plain x86-64,
 * so without fused multiply-adds and in source order), its {@code nearest_int} (adding 1.5 * 2^23 rounds to nearest
 * even) and its integer truncations ({@code uint8_t ls = nearest_int(..)}, {@code int8_t l = ...}). The searches
 * for scales and minimums are ggml's {@code make_qx_quants} (weights x², Q6_K), {@code make_q3_quants} (Q3_K)
 * and {@code make_qkx2_quants} (Q2_K, Q4_K, Q5_K); their names are kept so they can be read side by side.
 *
 * <p>Block layouts (little-endian, fields in this order):
 * <pre>
 *   Q2_K  scales[16] (low nibble scale, high nibble min) | qs[64] 2-bit | d f16 | dmin f16
 *   Q3_K  hmask[32] high bits | qs[64] low 2 bits | scales[12] 6-bit | d f16
 *   Q4_K  d f16 | dmin f16 | scales[12] 6-bit scales and mins of 8 blocks of 32 | qs[128] nibbles
 *   Q5_K  d f16 | dmin f16 | scales[12] | qh[32] fifth bits | qs[128] low nibbles
 *   Q6_K  ql[128] low nibbles | qh[64] high 2 bits | scales[16] int8 | d f16
 * </pre>
 */
final class KQuantEncoder {

    /** Elements of a super-block ({@code QK_K}). */
    static final int QK_K = 256;
    /** ggml's {@code GROUP_MAX_EPS}: a group whose largest magnitude is below it counts as all zeros. */
    private static final float GROUP_MAX_EPS = 1e-15f;
    /** 1.5 * 2^23: adding it leaves round-to-nearest-even of a small float in the low mantissa bits. */
    private static final float ROUNDING_MAGIC = 12582912f;

    private KQuantEncoder() {
    }

    /** Encodes {@code x[from, from + 256)} as {@code type} into {@code out[0, type.blockBytes())}. */
    static void encodeBlock(GgmlType type, float[] x, int from, byte[] out) {
        switch (type) {
            case Q2_K -> q2K(x, from, out);
            case Q3_K -> q3K(x, from, out);
            case Q4_K -> q4K(x, from, out);
            case Q5_K -> q5K(x, from, out);
            case Q6_K -> q6K(x, from, out);
            default -> throw new IllegalArgumentException(type + " is not a K-quant type");
        }
    }

    private static void q2K(float[] x, int from, byte[] out) {
        final int scalesAt = 0;
        final int qsAt = 16;
        final int dAt = 80;
        final int dminAt = 82;
        byte[] l = new byte[QK_K];
        byte[] laux = new byte[16];
        float[] weights = new float[16];
        float[] mins = new float[16];
        float[] scales = new float[16];
        final float q4scale = 15f;
        float maxScale = 0;
        float maxMin = 0;
        for (int j = 0; j < 16; j++) {
            for (int i = 0; i < 16; i++) {
                weights[i] = Math.abs(x[from + 16 * j + i]);
            }
            scales[j] = makeQkx2Quants(16, 3, x, from + 16 * j, weights, l, 16 * j, mins, j, laux,
                    -0.5f, 0.1f, 15, true);
            if (scales[j] > maxScale) {
                maxScale = scales[j];
            }
            if (mins[j] > maxMin) {
                maxMin = mins[j];
            }
        }
        Arrays.fill(out, 0, GgmlType.Q2_K.blockBytes(), (byte) 0);
        if (maxScale > 0) {
            float iscale = q4scale / maxScale;
            for (int j = 0; j < 16; j++) {
                out[scalesAt + j] = (byte) nearestInt(iscale * scales[j]);
            }
            putF16(out, dAt, maxScale / q4scale);
        } else {
            putF16(out, dAt, 0f);
        }
        if (maxMin > 0) {
            float iscale = q4scale / maxMin;
            for (int j = 0; j < 16; j++) {
                out[scalesAt + j] |= (byte) (nearestInt(iscale * mins[j]) << 4);
            }
            putF16(out, dminAt, maxMin / q4scale);
        } else {
            putF16(out, dminAt, 0f);
        }
        float dAll = getF16(out, dAt);
        float dminAll = getF16(out, dminAt);
        for (int j = 0; j < 16; j++) {
            int sc = out[scalesAt + j] & 0xFF;
            float d = dAll * (sc & 0xF);
            if (d == 0) {
                continue;
            }
            float dm = dminAll * (sc >> 4);
            for (int i = 0; i < 16; i++) {
                int q = nearestInt((x[from + 16 * j + i] + dm) / d);
                l[16 * j + i] = (byte) Math.max(0, Math.min(3, q));
            }
        }
        packTwoBits(l, out, qsAt);
    }

    private static void q3K(float[] x, int from, byte[] out) {
        final int hmaskAt = 0;
        final int qsAt = 32;
        final int scalesAt = 96;
        final int dAt = 108;
        byte[] l = new byte[QK_K];
        float[] scales = new float[16];
        for (int j = 0; j < 16; j++) {
            scales[j] = makeQ3Quants(16, 4, x, from + 16 * j, l, 16 * j);
        }
        float maxScale = TensorEncoder.largestMagnitude(scales, 0, 16);
        Arrays.fill(out, 0, GgmlType.Q3_K.blockBytes(), (byte) 0);
        if (maxScale != 0) {
            float iscale = -32f / maxScale;
            for (int j = 0; j < 16; j++) {
                int q = (byte) nearestInt(iscale * scales[j]);
                q = Math.max(-32, Math.min(31, q)) + 32;
                if (j < 8) {
                    out[scalesAt + j] = (byte) (q & 0xF);
                } else {
                    out[scalesAt + j - 8] |= (byte) ((q & 0xF) << 4);
                }
                q >>= 4;
                out[scalesAt + j % 4 + 8] |= (byte) (q << (2 * (j / 4)));
            }
            putF16(out, dAt, 1 / iscale);
        } else {
            putF16(out, dAt, 0f);
        }
        float dAll = getF16(out, dAt);
        for (int j = 0; j < 16; j++) {
            int low = j < 8 ? out[scalesAt + j] & 0xF : (out[scalesAt + j - 8] & 0xFF) >> 4;
            int sc = (low | (((out[scalesAt + 8 + j % 4] & 0xFF) >> (2 * (j / 4))) & 3) << 4) - 32;
            float d = dAll * sc;
            if (d == 0) {
                continue;
            }
            for (int i = 0; i < 16; i++) {
                int q = nearestInt(x[from + 16 * j + i] / d);
                l[16 * j + i] = (byte) (Math.max(-4, Math.min(3, q)) + 4);
            }
        }
        // The high bit of quant j goes to bit j / 32 of hmask[j % 32].
        for (int j = 0; j < QK_K; j++) {
            if (l[j] > 3) {
                out[hmaskAt + j % 32] |= (byte) (1 << (j / 32));
                l[j] -= 4;
            }
        }
        packTwoBits(l, out, qsAt);
    }

    private static void q4K(float[] x, int from, byte[] out) {
        byte[] l = new byte[QK_K];
        float[] scales = new float[8];
        float[] mins = new float[8];
        scalesAndMins(x, from, 15, -1f, 20, l, scales, mins, out);
        final int qsAt = 16;
        for (int j = 0; j < QK_K; j += 64) {
            for (int i = 0; i < 32; i++) {
                out[qsAt + j / 2 + i] = (byte) (l[j + i] | l[j + i + 32] << 4);
            }
        }
    }

    private static void q5K(float[] x, int from, byte[] out) {
        byte[] l = new byte[QK_K];
        float[] scales = new float[8];
        float[] mins = new float[8];
        scalesAndMins(x, from, 31, -0.5f, 15, l, scales, mins, out);
        final int qhAt = 16;
        final int qsAt = 48;
        Arrays.fill(out, qhAt, qhAt + 32, (byte) 0);
        int m1 = 1;
        int m2 = 2;
        for (int n = 0; n < QK_K; n += 64) {
            for (int j = 0; j < 32; j++) {
                int l1 = l[n + j];
                if (l1 > 15) {
                    l1 -= 16;
                    out[qhAt + j] |= (byte) m1;
                }
                int l2 = l[n + j + 32];
                if (l2 > 15) {
                    l2 -= 16;
                    out[qhAt + j] |= (byte) m2;
                }
                out[qsAt + n / 2 + j] = (byte) (l1 | l2 << 4);
            }
            m1 <<= 2;
            m2 <<= 2;
        }
    }

    /**
     * The part Q4_K and Q5_K share: 8 blocks of 32 with a 6-bit scale and 6-bit minimum each, found by
     * {@code make_qkx2_quants} weighted by {@code rms + |x|}; writes d, dmin and the 12 scale bytes at 0..15 of
     * {@code out} and leaves the final quants (0..nmax) in {@code l}.
     */
    private static void scalesAndMins(float[] x, int from, int nmax, float rmin, int nstep, byte[] l,
                                      float[] scales, float[] mins, byte[] out) {
        final int dAt = 0;
        final int dminAt = 2;
        final int scalesAt = 4;
        byte[] laux = new byte[32];
        float[] weights = new float[32];
        float maxScale = 0;
        float maxMin = 0;
        for (int j = 0; j < 8; j++) {
            int at = from + 32 * j;
            float sumX2 = 0;
            for (int i = 0; i < 32; i++) {
                sumX2 += x[at + i] * x[at + i];
            }
            float avX = (float) Math.sqrt(sumX2 / 32);
            for (int i = 0; i < 32; i++) {
                weights[i] = avX + Math.abs(x[at + i]);
            }
            scales[j] = makeQkx2Quants(32, nmax, x, at, weights, l, 32 * j, mins, j, laux, rmin, 0.1f, nstep, false);
            if (scales[j] > maxScale) {
                maxScale = scales[j];
            }
            if (mins[j] > maxMin) {
                maxMin = mins[j];
            }
        }
        float invScale = maxScale > 0 ? 63f / maxScale : 0f;
        float invMin = maxMin > 0 ? 63f / maxMin : 0f;
        for (int j = 0; j < 8; j++) {
            int ls = Math.min(63, nearestInt(invScale * scales[j]) & 0xFF);
            int lm = Math.min(63, nearestInt(invMin * mins[j]) & 0xFF);
            if (j < 4) {
                out[scalesAt + j] = (byte) ls;
                out[scalesAt + j + 4] = (byte) lm;
            } else {
                out[scalesAt + j + 4] = (byte) ((ls & 0xF) | (lm & 0xF) << 4);
                out[scalesAt + j - 4] |= (byte) ((ls >> 4) << 6);
                out[scalesAt + j] |= (byte) ((lm >> 4) << 6);
            }
        }
        putF16(out, dAt, maxScale / 63f);
        putF16(out, dminAt, maxMin / 63f);
        float dAll = getF16(out, dAt);
        float dminAll = getF16(out, dminAt);
        for (int j = 0; j < 8; j++) {
            int sc;
            int m;
            if (j < 4) {
                sc = out[scalesAt + j] & 63;
                m = out[scalesAt + j + 4] & 63;
            } else {
                sc = (out[scalesAt + j + 4] & 0xF) | ((out[scalesAt + j - 4] & 0xFF) >> 6) << 4;
                m = (out[scalesAt + j + 4] & 0xFF) >> 4 | ((out[scalesAt + j] & 0xFF) >> 6) << 4;
            }
            float d = dAll * sc;
            if (d == 0) {
                continue;
            }
            float dm = dminAll * m;
            for (int i = 0; i < 32; i++) {
                int q = nearestInt((x[from + 32 * j + i] + dm) / d);
                l[32 * j + i] = (byte) Math.max(0, Math.min(nmax, q));
            }
        }
    }

    private static void q6K(float[] x, int from, byte[] out) {
        final int qlAt = 0;
        final int qhAt = 128;
        final int scalesAt = 192;
        final int dAt = 208;
        byte[] l = new byte[QK_K];
        float[] scales = new float[16];
        float maxScale = 0;
        float maxAbsScale = 0;
        for (int ib = 0; ib < 16; ib++) {
            float scale = makeQxQuants(16, 32, x, from + 16 * ib, l, 16 * ib);
            scales[ib] = scale;
            float absScale = Math.abs(scale);
            if (absScale > maxAbsScale) {
                maxAbsScale = absScale;
                maxScale = scale;
            }
        }
        Arrays.fill(out, 0, GgmlType.Q6_K.blockBytes(), (byte) 0);
        if (maxAbsScale < GROUP_MAX_EPS) {
            return;
        }
        float iscale = -128f / maxScale;
        putF16(out, dAt, 1 / iscale);
        for (int ib = 0; ib < 16; ib++) {
            out[scalesAt + ib] = (byte) Math.min(127, nearestInt(iscale * scales[ib]));
        }
        float dAll = getF16(out, dAt);
        for (int j = 0; j < 16; j++) {
            float d = dAll * out[scalesAt + j];
            if (d == 0) {
                continue;
            }
            for (int i = 0; i < 16; i++) {
                int q = nearestInt(x[from + 16 * j + i] / d);
                l[16 * j + i] = (byte) (Math.max(-32, Math.min(31, q)) + 32);
            }
        }
        for (int j = 0; j < QK_K; j += 128) {
            int ql = qlAt + j / 2;
            int qh = qhAt + j / 4;
            for (int i = 0; i < 32; i++) {
                int q1 = l[j + i];
                int q2 = l[j + i + 32];
                int q3 = l[j + i + 64];
                int q4 = l[j + i + 96];
                out[ql + i] = (byte) ((q1 & 0xF) | (q3 & 0xF) << 4);
                out[ql + i + 32] = (byte) ((q2 & 0xF) | (q4 & 0xF) << 4);
                out[qh + i] = (byte) (q1 >> 4 | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6);
            }
        }
    }

    /**
     * ggml's {@code make_qx_quants} with {@code rmse_type} 1 and no importance weights (weights x²): a symmetric
     * scale for {@code n} values, tried at 19 steps around {@code nmax / max}; quants {@code 0..2 nmax - 1}
     * (value + nmax) go to {@code l[lAt..]}.
     */
    private static float makeQxQuants(int n, int nmax, float[] x, int at, byte[] l, int lAt) {
        float max = TensorEncoder.largestMagnitude(x, at, n);
        if (Math.abs(max) < GROUP_MAX_EPS) {
            Arrays.fill(l, lAt, lAt + n, (byte) 0);
            return 0f;
        }
        float iscale = -nmax / max;
        float sumlx = 0;
        float suml2 = 0;
        for (int i = 0; i < n; i++) {
            float v = x[at + i];
            int q = Math.max(-nmax, Math.min(nmax - 1, nearestInt(iscale * v)));
            l[lAt + i] = (byte) (q + nmax);
            float w = v * v;
            sumlx += w * v * q;
            suml2 += w * q * q;
        }
        float scale = suml2 != 0 ? sumlx / suml2 : 0f;
        float best = scale * sumlx;
        for (int is = -9; is <= 9; is++) {
            if (is == 0) {
                continue;
            }
            iscale = -(nmax + 0.1f * is) / max;
            sumlx = 0;
            suml2 = 0;
            for (int i = 0; i < n; i++) {
                float v = x[at + i];
                int q = Math.max(-nmax, Math.min(nmax - 1, nearestInt(iscale * v)));
                float w = v * v;
                sumlx += w * v * q;
                suml2 += w * q * q;
            }
            if (suml2 > 0 && sumlx * sumlx > best * suml2) {
                for (int i = 0; i < n; i++) {
                    int q = nearestInt(iscale * x[at + i]);
                    l[lAt + i] = (byte) (nmax + Math.max(-nmax, Math.min(nmax - 1, q)));
                }
                scale = sumlx / suml2;
                best = scale * sumlx;
            }
        }
        return scale;
    }

    /**
     * ggml's {@code make_q3_quants} with {@code do_rmse}: a symmetric scale for {@code n} values, refined by up
     * to 5 rounds of moving single quants (weights x²); quants {@code 0..2 nmax - 1} go to {@code l[lAt..]}.
     */
    private static float makeQ3Quants(int n, int nmax, float[] x, int at, byte[] l, int lAt) {
        float max = TensorEncoder.largestMagnitude(x, at, n);
        if (Math.abs(max) < GROUP_MAX_EPS) {
            Arrays.fill(l, lAt, lAt + n, (byte) 0);
            return 0f;
        }
        float iscale = -nmax / max;
        float sumlx = 0;
        float suml2 = 0;
        for (int i = 0; i < n; i++) {
            float v = x[at + i];
            int q = Math.max(-nmax, Math.min(nmax - 1, nearestInt(iscale * v)));
            l[lAt + i] = (byte) q;
            float w = v * v;
            sumlx += w * v * q;
            suml2 += w * q * q;
        }
        for (int itry = 0; itry < 5; itry++) {
            int changed = 0;
            for (int i = 0; i < n; i++) {
                float v = x[at + i];
                float w = v * v;
                int old = l[lAt + i];
                float slx = sumlx - w * v * old;
                if (slx > 0) {
                    float sl2 = suml2 - w * old * old;
                    int q = Math.max(-nmax, Math.min(nmax - 1, nearestInt(v * sl2 / slx)));
                    if (q != old) {
                        slx += w * v * q;
                        sl2 += w * q * q;
                        if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                            l[lAt + i] = (byte) q;
                            sumlx = slx;
                            suml2 = sl2;
                            changed++;
                        }
                    }
                }
            }
            if (changed == 0) {
                break;
            }
        }
        for (int i = 0; i < n; i++) {
            l[lAt + i] += (byte) nmax;
        }
        return sumlx / suml2;
    }

    /**
     * ggml's {@code make_qkx2_quants}: an asymmetric scale and minimum for {@code n} values, the weighted best
     * (absolute or squared error) of {@code nstep + 1} candidate scales from {@code (rmin + nmax) / (max - min)}
     * in steps of {@code rdelta}. Quants {@code 0..nmax} go to {@code l[lAt..]}, the minimum (negated, so
     * {@code >= 0}) to {@code theMin[minAt]}; returns the scale.
     */
    private static float makeQkx2Quants(int n, int nmax, float[] x, int at, float[] weights, byte[] l, int lAt,
                                        float[] theMin, int minAt, byte[] laux, float rmin, float rdelta,
                                        int nstep, boolean useMad) {
        float min = x[at];
        float max = x[at];
        float sumW = weights[0];
        float sumX = sumW * x[at];
        for (int i = 1; i < n; i++) {
            float v = x[at + i];
            if (v < min) {
                min = v;
            }
            if (v > max) {
                max = v;
            }
            float w = weights[i];
            sumW += w;
            sumX += w * v;
        }
        if (min > 0) {
            min = 0;
        }
        if (max == min) {
            Arrays.fill(l, lAt, lAt + n, (byte) 0);
            theMin[minAt] = -min;
            return 0f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestMad = 0;
        for (int i = 0; i < n; i++) {
            int q = Math.max(0, Math.min(nmax, nearestInt(iscale * (x[at + i] - min))));
            l[lAt + i] = (byte) q;
            float diff = scale * q + min - x[at + i];
            diff = useMad ? Math.abs(diff) : diff * diff;
            bestMad += weights[i] * diff;
        }
        if (nstep < 1) {
            theMin[minAt] = -min;
            return scale;
        }
        for (int is = 0; is <= nstep; is++) {
            iscale = (rmin + rdelta * is + nmax) / (max - min);
            float sumL = 0;
            float sumL2 = 0;
            float sumXl = 0;
            for (int i = 0; i < n; i++) {
                int q = Math.max(0, Math.min(nmax, nearestInt(iscale * (x[at + i] - min))));
                laux[i] = (byte) q;
                float w = weights[i];
                sumL += w * q;
                sumL2 += w * q * q;
                sumXl += w * q * x[at + i];
            }
            float det = sumW * sumL2 - sumL * sumL;
            if (det > 0) {
                float thisScale = (sumW * sumXl - sumX * sumL) / det;
                float thisMin = (sumL2 * sumX - sumL * sumXl) / det;
                if (thisMin > 0) {
                    thisMin = 0;
                    thisScale = sumXl / sumL2;
                }
                float mad = 0;
                for (int i = 0; i < n; i++) {
                    float diff = thisScale * laux[i] + thisMin - x[at + i];
                    diff = useMad ? Math.abs(diff) : diff * diff;
                    mad += weights[i] * diff;
                }
                if (mad < bestMad) {
                    System.arraycopy(laux, 0, l, lAt, n);
                    bestMad = mad;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        theMin[minAt] = -min;
        return scale;
    }

    private static void packTwoBits(byte[] l, byte[] out, int at) {
        for (int j = 0; j < QK_K; j += 128) {
            for (int i = 0; i < 32; i++) {
                out[at + j / 4 + i] = (byte) (l[j + i] | l[j + i + 32] << 2 | l[j + i + 64] << 4 | l[j + i + 96] << 6);
            }
        }
    }

    /** ggml's {@code nearest_int}: round to nearest, ties to even, for |v| up to 2^22. */
    static int nearestInt(float v) {
        int bits = Float.floatToRawIntBits(v + ROUNDING_MAGIC);
        return (bits & 0x007fffff) - 0x00400000;
    }

    private static void putF16(byte[] out, int at, float v) {
        short h = Float.floatToFloat16(v);
        out[at] = (byte) h;
        out[at + 1] = (byte) (h >> 8);
    }

    private static float getF16(byte[] b, int at) {
        return Float.float16ToFloat((short) ((b[at] & 0xFF) | b[at + 1] << 8));
    }
}
