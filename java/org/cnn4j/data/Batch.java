package org.cnn4j.data;

/**
 * One batch made by a {@link DataLoader}: {@code size} samples of normalised pixels (NCHW)
 * and their labels. Batches are pooled: call {@link #release()} once the data was copied out.
 */
public final class Batch {
    final float[] images;
    final int[] labels;
    int size;
    private final DataLoader owner;

    Batch(DataLoader owner, int capacity, int sampleSize) {
        this.owner = owner;
        this.images = new float[capacity * sampleSize];
        this.labels = new int[capacity];
    }

    public int size() {
        return size;
    }

    /** The pixels; only the first size()*sampleSize values belong to this batch. */
    public float[] images() {
        return images;
    }

    /** The labels; only the first size() belong to this batch. */
    public int[] labels() {
        return labels;
    }

    /** Returns the batch to its loader's pool. */
    public void release() {
        owner.recycle(this);
    }
}
