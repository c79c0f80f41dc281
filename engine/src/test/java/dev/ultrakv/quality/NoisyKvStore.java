package dev.ultrakv.quality;

import dev.ultrakv.kvcache.KvLayout;
import dev.ultrakv.kvcache.KvStore;

import java.util.Random;
import java.util.SplittableRandom;

/**
 * A store that scales every key and value element it writes by {@code 1 + relativeNoise × g}, g standard normal,
 * drawn from a seed of the layer and position: a damaged cache whose damage is the same on every run.
 */
final class NoisyKvStore implements KvStore {
    private final KvStore delegate;
    private final double relativeNoise;
    private final float[] key;
    private final float[] value;

    NoisyKvStore(KvStore delegate, double relativeNoise) {
        this.delegate = delegate;
        this.relativeNoise = relativeNoise;
        this.key = new float[delegate.layout().kvDim()];
        this.value = new float[delegate.layout().kvDim()];
    }

    @Override
    public KvLayout layout() {
        return delegate.layout();
    }

    @Override
    public int capacity() {
        return delegate.capacity();
    }

    @Override
    public void write(int layer, int position, float[] key, int keyOffset, float[] value, int valueOffset) {
        Random random = new Random(new SplittableRandom(((long) layer << 32) | position).nextLong());
        for (int i = 0; i < this.key.length; i++) {
            this.key[i] = (float) (key[keyOffset + i] * (1 + relativeNoise * random.nextGaussian()));
            this.value[i] = (float) (value[valueOffset + i] * (1 + relativeNoise * random.nextGaussian()));
        }
        delegate.write(layer, position, this.key, 0, this.value, 0);
    }

    @Override
    public void attend(int layer, int head, int position, int window, float softCap, float[] query,
                       int queryOffset, float[] out, int outOffset, float[] scratch) {
        delegate.attend(layer, head, position, window, softCap, query, queryOffset, out, outOffset, scratch);
    }
}
