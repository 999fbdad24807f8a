package org.cnn4j.nn;

import java.util.Map;
import java.util.SplittableRandom;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;

/**
 * Dropout (SPEC S6.2, AlexNet): in training each value is zeroed with probability p and the
 * rest are scaled by 1/(1-p); in evaluation it is the identity. Masks are seeded: the layer
 * draws a seed when initialised and advances it every training step, and every backend
 * draws the same mask from the same seed.
 */
public final class Dropout extends Layer {
    private final double p;
    private long seed;
    private long step;
    private Tensor mask;
    private boolean applied;
    private boolean fixed;

    public Dropout(double p) {
        if (!(p >= 0 && p < 1)) {
            throw new IllegalArgumentException("dropout probability must be in [0, 1), got " + p);
        }
        this.p = p;
    }

    public double probability() {
        return p;
    }

    /** Sets the mask seed (the next training step uses it, later steps follow from it). */
    public Dropout seed(long s) {
        this.seed = s;
        this.step = 0;
        return this;
    }

    /** The mask seed and the number of masks drawn from it: what a checkpoint saves. */
    public long[] randomState() {
        return new long[] {seed, step};
    }

    /** Restores {@link #randomState()}: the next training step draws the mask it would have drawn. */
    public void restoreRandomState(long seed, long step) {
        if (step < 0) {
            throw new IllegalArgumentException("dropout step must be >= 0, got " + step);
        }
        this.seed = seed;
        this.step = step;
    }

    /**
     * Uses the same mask on every training step (the seed does not advance): for gradient
     * checks and for reproducing one step exactly.
     */
    public Dropout fixMask(boolean f) {
        this.fixed = f;
        return this;
    }

    @Override
    public String type() {
        return "Dropout";
    }

    @Override
    public Map<String, Object> config() {
        return configOf("p", p);
    }

    @Override
    protected Shape inferOutputShape(Shape input) {
        return input;
    }

    @Override
    protected void createParameters(SplittableRandom rng) {
        seed = rng.nextLong();
        step = 0;
    }

    @Override
    public String details() {
        return "p=" + p;
    }

    /** A new mask every step is a new kernel argument every step: replayable only with a fixed mask. */
    @Override
    public boolean replayable() {
        return p == 0 || fixed;
    }

    @Override
    public Tensor forward(Tensor x, boolean training) {
        checkInput(x);
        applied = training && p > 0;
        if (!applied) {
            return x;
        }
        mask = buffer("mask", x.shape());
        Tensor y = buffer("y", x.shape());
        backend.dropoutForward(x, y, mask, p, seed + 0x632BE59BD9B4E019L * step);
        if (!fixed) {
            step++;
        }
        return y;
    }

    @Override
    public Tensor backward(Tensor dy) {
        if (!applied) {
            return dy;
        }
        Tensor dx = buffer("dx", dy.shape());
        backend.multiply(dy, mask, dx);
        return dx;
    }
}
