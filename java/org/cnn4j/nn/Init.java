package org.cnn4j.nn;

import java.util.SplittableRandom;

/**
 * Weight initialisations. Fan-in and fan-out follow PyTorch: for a convolution weight
 * [out, in/groups, kh, kw], fan_in = in/groups*kh*kw and fan_out = out*kh*kw.
 */
public enum Init {
    /** He (Kaiming) uniform for ReLU: U(-b, b), b = sqrt(6 / fan_in). */
    HE_UNIFORM,
    /** He (Kaiming) normal for ReLU: N(0, 2 / fan_in). */
    HE_NORMAL,
    /** Xavier (Glorot) uniform: U(-b, b), b = sqrt(6 / (fan_in + fan_out)). */
    XAVIER_UNIFORM,
    /** Xavier (Glorot) normal: N(0, 2 / (fan_in + fan_out)). */
    XAVIER_NORMAL,
    /** PyTorch's default for Conv2d and Linear (kaiming_uniform with a = sqrt(5)): U(-b, b), b = 1/sqrt(fan_in). */
    TORCH_DEFAULT;

    /** Fills {@code out} with values drawn from this distribution. */
    public void fill(double[] out, int fanIn, int fanOut, SplittableRandom rng) {
        switch (this) {
            case HE_UNIFORM -> uniform(out, Math.sqrt(6.0 / fanIn), rng);
            case HE_NORMAL -> normal(out, Math.sqrt(2.0 / fanIn), rng);
            case XAVIER_UNIFORM -> uniform(out, Math.sqrt(6.0 / (fanIn + fanOut)), rng);
            case XAVIER_NORMAL -> normal(out, Math.sqrt(2.0 / (fanIn + fanOut)), rng);
            case TORCH_DEFAULT -> uniform(out, 1.0 / Math.sqrt(fanIn), rng);
            default -> throw new IllegalStateException();
        }
    }

    /** Initial bias values: zeros, except U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for TORCH_DEFAULT. */
    public double[] bias(int n, int fanIn, SplittableRandom rng) {
        double[] b = new double[n];
        if (this == TORCH_DEFAULT) {
            uniform(b, 1.0 / Math.sqrt(fanIn), rng);
        }
        return b;
    }

    static void uniform(double[] out, double bound, SplittableRandom rng) {
        for (int i = 0; i < out.length; i++) {
            out[i] = (rng.nextDouble() * 2 - 1) * bound;
        }
    }

    static void normal(double[] out, double std, SplittableRandom rng) {
        for (int i = 0; i < out.length; i += 2) {
            // Box-Muller, two values per draw.
            double u1 = 1 - rng.nextDouble(), u2 = rng.nextDouble();
            double r = Math.sqrt(-2 * Math.log(u1));
            out[i] = r * Math.cos(2 * Math.PI * u2) * std;
            if (i + 1 < out.length) {
                out[i + 1] = r * Math.sin(2 * Math.PI * u2) * std;
            }
        }
    }
}
