package org.cnn4j.backend;

/**
 * Fused optimizer updates (PyTorch semantics): the pure-Java kernels, computing in {@code float}.
 *
 * <p>Layouts: activations NCHW, convolution weights OIHW (O = output channels, I = input
 * channels per group), dense weights (out, in), all row-major and contiguous. Accumulation
 * rule, held everywhere: parameter gradients are added to ({@code +=}), activation gradients
 * are written ({@code =}).
 *
 * <p>The inner loops are written so that HotSpot's C2 compiler vectorises them: unit-stride
 * "axpy" loops over contiguous rows. The double-precision twin of every {@code Float*Kernels}
 * class, used by the gradient checks, is generated from it by the build (every {@code float}
 * becomes {@code double}), so these files avoid float literals with an {@code f} suffix.
 *
 * <p>GENERATE: the build derives the Double twin of this file from it.
 */
public final class FloatOptimKernels {
    private FloatOptimKernels() {
    }

    /**
     * SGD with optional L2 weight decay, momentum (dampening), Nesterov. On the first step the
     * momentum buffer is set to the gradient, as in PyTorch.
     */
    public static void sgd(float[] p, float[] g, float[] buf, int n, double lr, double momentum,
                           double dampening, boolean nesterov, double weightDecay, boolean first) {
        final float lr_ = (float) lr, mom = (float) momentum, damp = (float) (1 - dampening);
        final float wd = (float) weightDecay;
        for (int i = 0; i < n; i++) {
            float gi = g[i] + wd * p[i];
            if (buf != null) {
                float b = first ? gi : mom * buf[i] + damp * gi;
                buf[i] = b;
                gi = nesterov ? gi + mom * b : b;
            }
            p[i] -= lr_ * gi;
        }
    }

    /** RMSProp: sq = alpha*sq + (1-alpha)*g^2; step g / (sqrt(sq) + eps), optional momentum. */
    public static void rmsprop(float[] p, float[] g, float[] sq, float[] buf, int n, double lr, double alpha,
                               double eps, double weightDecay, double momentum) {
        final float lr_ = (float) lr, al = (float) alpha, e = (float) eps, wd = (float) weightDecay;
        final float mom = (float) momentum;
        for (int i = 0; i < n; i++) {
            float gi = g[i] + wd * p[i];
            float s = al * sq[i] + (1 - al) * gi * gi;
            sq[i] = s;
            float step = gi / ((float) Math.sqrt(s) + e);
            if (buf != null) {
                float b = mom * buf[i] + step;
                buf[i] = b;
                step = b;
            }
            p[i] -= lr_ * step;
        }
    }

    /**
     * Adam (L2 weight decay added to the gradient) or AdamW ({@code decoupled}: the weights
     * shrink by lr*wd directly). {@code step} counts from 1.
     */
    public static void adam(float[] p, float[] g, float[] m, float[] v, int n, double lr, double beta1,
                            double beta2, double eps, double weightDecay, boolean decoupled, long step) {
        final double bc1 = 1 - Math.pow(beta1, step);
        final double bc2 = 1 - Math.pow(beta2, step);
        final float stepSize = (float) (lr / bc1);
        final float invSqrtBc2 = (float) (1 / Math.sqrt(bc2));
        final float b1 = (float) beta1, b2 = (float) beta2, e = (float) eps;
        final float wd = decoupled ? 0 : (float) weightDecay;
        final float shrink = decoupled ? (float) (1 - lr * weightDecay) : 1;
        for (int i = 0; i < n; i++) {
            float gi = g[i] + wd * p[i];
            float mi = b1 * m[i] + (1 - b1) * gi;
            float vi = b2 * v[i] + (1 - b2) * gi * gi;
            m[i] = mi;
            v[i] = vi;
            p[i] = p[i] * shrink - stepSize * mi / ((float) Math.sqrt(vi) * invSqrtBc2 + e);
        }
    }
}
