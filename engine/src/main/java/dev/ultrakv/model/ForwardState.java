package dev.ultrakv.model;

/**
 * The activation buffers of one caller's forward passes, for batches of up to {@link #maxBatch()} rows. Rows are
 * laid out one after another; each buffer's shape is given as (row, width). Not thread-safe: one state per
 * thread that runs the model.
 */
public final class ForwardState {
    final int maxBatch;
    /** (row, dim): the residual stream. */
    final float[] x;
    /** (row, max(dim, qDim)): normalised input of a sub-layer (dim wide), then attention output (qDim wide). */
    final float[] xb;
    /** (row, dim): output projection before it joins the residual. */
    final float[] xb2;
    /** (row, qDim): queries. */
    final float[] q;
    /** (row, kvDim): keys. */
    final float[] k;
    /** (row, kvDim): values. */
    final float[] v;
    /** (row, hiddenDim): SwiGLU gate, then the gated product. */
    final float[] hb;
    /** (row, hiddenDim): SwiGLU up projection. */
    final float[] hb2;
    /** (row, dim): normalised final states of the rows whose logits are wanted; grown on demand. */
    float[] xLogits;
    /**
     * (row, vocab): logits of the rows asked for, in the order asked; grown on demand, since prefill asks for one
     * row and a full-size buffer would be maxBatch x vocab floats (64 MiB for 512 rows of a 32k vocabulary).
     */
    float[] logits;
    private final int dim;
    private final int vocabularySize;

    ForwardState(LlamaConfig c, int maxBatch) {
        if (maxBatch <= 0) {
            throw new IllegalArgumentException("maxBatch must be positive: " + maxBatch);
        }
        this.maxBatch = maxBatch;
        this.vocabularySize = c.vocabularySize();
        x = new float[maxBatch * c.dim()];
        xb = new float[maxBatch * Math.max(c.dim(), c.qDim())];
        xb2 = new float[maxBatch * c.dim()];
        q = new float[maxBatch * c.qDim()];
        k = new float[maxBatch * c.kvDim()];
        v = new float[maxBatch * c.kvDim()];
        hb = new float[maxBatch * c.hiddenDim()];
        hb2 = new float[maxBatch * c.hiddenDim()];
        dim = c.dim();
        xLogits = new float[c.dim()];
        logits = new float[c.vocabularySize()];
    }

    /** Makes room for the logits of {@code rows} rows. */
    void ensureLogitRows(int rows) {
        if (logits.length < rows * vocabularySize) {
            logits = new float[Math.multiplyExact(rows, vocabularySize)];
            xLogits = new float[Math.multiplyExact(rows, dim)];
        }
    }

    /** The most rows one forward pass with this state may hold. */
    public int maxBatch() {
        return maxBatch;
    }

    /** The logits written by the last forward pass: (row asked for, vocab). */
    public float[] logits() {
        return logits;
    }

    /** A copy of the logits of the {@code index}-th row asked for in the last forward pass. */
    public float[] copyLogits(int index) {
        float[] out = new float[vocabularySize];
        System.arraycopy(logits, index * vocabularySize, out, 0, vocabularySize);
        return out;
    }
}
