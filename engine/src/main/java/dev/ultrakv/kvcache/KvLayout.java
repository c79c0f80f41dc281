package dev.ultrakv.kvcache;

/**
 * The shape of a model's keys and values: per layer and position, {@code kvHeads} heads of {@code headSize}
 * floats, shared by {@code heads / kvHeads} query heads (grouped-query attention).
 *
 * @param layers   transformer layers
 * @param heads    query heads
 * @param kvHeads  key/value heads; divides {@code heads}
 * @param headSize floats per head
 */
public record KvLayout(int layers, int heads, int kvHeads, int headSize) {

    public KvLayout {
        if (layers <= 0 || heads <= 0 || kvHeads <= 0 || headSize <= 0 || heads % kvHeads != 0) {
            throw new IllegalArgumentException("invalid KV layout: layers=" + layers + ", heads=" + heads
                    + ", kvHeads=" + kvHeads + ", headSize=" + headSize);
        }
    }

    /** Floats of K (or V) per layer and position. */
    public int kvDim() {
        return kvHeads * headSize;
    }

    /** Query heads that read each KV head. */
    public int queriesPerKvHead() {
        return heads / kvHeads;
    }

    /** Bytes of K and V together for one position across all layers, stored as float32. */
    public long float32BytesPerToken() {
        return 2L * layers * kvDim() * Float.BYTES;
    }
}
