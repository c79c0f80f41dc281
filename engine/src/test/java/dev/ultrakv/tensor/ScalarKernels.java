package dev.ultrakv.tensor;

/**
 * Plain scalar twins of {@link Matmul}, {@link VectorOps} and {@link Attention}, written as llama2.c's
 * {@code run.c} writes them (loops in index order, float arithmetic), against which the vector kernels are checked.
 */
final class ScalarKernels {

    private ScalarKernels() {
    }

    /** A matmul result in double precision, with Σ|w·x| per output to bound float rounding. */
    record Exact(double[] value, double[] magnitude) {
    }

    /** {@code out[b * rows + r] = Σ_c w[r * cols + c] · x[b * cols + c]}, accumulated in double. */
    static Exact matmul(float[] w, int rows, int cols, float[] x, int batch) {
        double[] value = new double[batch * rows];
        double[] magnitude = new double[batch * rows];
        for (int b = 0; b < batch; b++) {
            for (int r = 0; r < rows; r++) {
                double sum = 0;
                double abs = 0;
                for (int c = 0; c < cols; c++) {
                    double p = (double) w[r * cols + c] * x[b * cols + c];
                    sum += p;
                    abs += Math.abs(p);
                }
                value[b * rows + r] = sum;
                magnitude[b * rows + r] = abs;
            }
        }
        return new Exact(value, magnitude);
    }

    /** run.c's {@code rmsnorm}. */
    static void rmsnorm(float[] o, float[] x, float[] weight, int size, float eps) {
        float ss = 0.0f;
        for (int j = 0; j < size; j++) {
            ss += x[j] * x[j];
        }
        ss /= size;
        ss += eps;
        ss = 1.0f / (float) Math.sqrt(ss);
        for (int j = 0; j < size; j++) {
            o[j] = weight[j] * (ss * x[j]);
        }
    }

    /** run.c's RoPE loop over one vector of {@code dim} floats. */
    static void rope(float[] vec, int dim, int headSize, int pos, float theta) {
        for (int i = 0; i < dim; i += 2) {
            int headDim = i % headSize;
            float freq = 1.0f / (float) Math.pow(theta, headDim / (float) headSize);
            float val = pos * freq;
            float fcr = (float) Math.cos(val);
            float fci = (float) Math.sin(val);
            float v0 = vec[i];
            float v1 = vec[i + 1];
            vec[i] = v0 * fcr - v1 * fci;
            vec[i + 1] = v0 * fci + v1 * fcr;
        }
    }

    /** run.c's {@code softmax}. */
    static void softmax(float[] x, int size) {
        float maxVal = x[0];
        for (int i = 1; i < size; i++) {
            if (x[i] > maxVal) {
                maxVal = x[i];
            }
        }
        float sum = 0.0f;
        for (int i = 0; i < size; i++) {
            x[i] = (float) Math.exp(x[i] - maxVal);
            sum += x[i];
        }
        for (int i = 0; i < size; i++) {
            x[i] /= sum;
        }
    }

    /** run.c's SwiGLU loop. */
    static void swiglu(float[] hb, float[] hb2, int n) {
        for (int i = 0; i < n; i++) {
            float val = hb[i];
            val *= (1.0f / (1.0f + (float) Math.exp(-val)));
            val *= hb2[i];
            hb[i] = val;
        }
    }

    /** run.c's attention of one head: scores in index order, softmax, then the weighted values. */
    static float[] attention(float[] q, float[] keys, float[] values, int kvOffset, int stride, int headSize,
                             int length) {
        float[] att = new float[length];
        for (int t = 0; t < length; t++) {
            float score = 0.0f;
            for (int i = 0; i < headSize; i++) {
                score += q[i] * keys[kvOffset + t * stride + i];
            }
            score /= (float) Math.sqrt(headSize);
            att[t] = score;
        }
        softmax(att, length);
        float[] xb = new float[headSize];
        for (int t = 0; t < length; t++) {
            float a = att[t];
            for (int i = 0; i < headSize; i++) {
                xb[i] += a * values[kvOffset + t * stride + i];
            }
        }
        return xb;
    }
}
