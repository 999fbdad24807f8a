package org.cnn4j.backend;

/**
 * Element-wise ops, sums, bias and activations: the pure-Java kernels, computing in {@code float}.
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
public final class FloatElementwiseKernels {
    private FloatElementwiseKernels() {
    }

    private static final int ELEMENTWISE_CHUNK = 1 << 15;

    /** y = f(x) for the activation {@code act}; {@code alpha} is leaky ReLU's negative slope. */
    public static void activationForward(Parallel par, Activation act, double alpha, float[] x, float[] y, int n) {
        final float al = (float) alpha;
        par.forRange(n, ELEMENTWISE_CHUNK, (i0, i1, worker) -> {
            switch (act) {
                case RELU -> {
                    for (int i = i0; i < i1; i++) {
                        y[i] = Math.max(x[i], 0);
                    }
                }
                case LEAKY_RELU -> {
                    for (int i = i0; i < i1; i++) {
                        y[i] = Math.max(x[i], 0) + al * Math.min(x[i], 0);
                    }
                }
                case SIGMOID -> {
                    for (int i = i0; i < i1; i++) {
                        y[i] = (float) (1 / (1 + Math.exp(-x[i])));
                    }
                }
                case TANH -> {
                    for (int i = i0; i < i1; i++) {
                        y[i] = (float) Math.tanh(x[i]);
                    }
                }
                default -> throw new IllegalArgumentException("unknown activation " + act);
            }
        });
    }

    /** dx = dy * f'(x), with f' taken from x (ReLU family) or from y = f(x) (sigmoid, tanh). */
    public static void activationBackward(Parallel par, Activation act, double alpha, float[] x, float[] y,
                                          float[] dy, float[] dx, int n) {
        final float al = (float) alpha;
        par.forRange(n, ELEMENTWISE_CHUNK, (i0, i1, worker) -> {
            switch (act) {
                case RELU -> {
                    for (int i = i0; i < i1; i++) {
                        dx[i] = Bits.wherePositive(x[i], dy[i]);
                    }
                }
                case LEAKY_RELU -> {
                    for (int i = i0; i < i1; i++) {
                        float pos = Bits.wherePositive(x[i], dy[i]);
                        dx[i] = pos + al * (dy[i] - pos);
                    }
                }
                case SIGMOID -> {
                    for (int i = i0; i < i1; i++) {
                        dx[i] = dy[i] * y[i] * (1 - y[i]);
                    }
                }
                case TANH -> {
                    for (int i = i0; i < i1; i++) {
                        dx[i] = dy[i] * (1 - y[i] * y[i]);
                    }
                }
                default -> throw new IllegalArgumentException("unknown activation " + act);
            }
        });
    }

    /** y[o, c, i] += bias[c] for y viewed as [outer, channels, inner]. */
    public static void biasAdd(float[] y, float[] bias, int outer, int channels, int inner) {
        for (int o = 0; o < outer; o++) {
            for (int c = 0; c < channels; c++) {
                float bv = bias[c];
                int r = (o * channels + c) * inner;
                for (int i = 0; i < inner; i++) {
                    y[r + i] += bv;
                }
            }
        }
    }

    /** dbias[c] += sum over outer and inner of dy[o, c, i]. */
    public static void biasGrad(float[] dy, float[] dbias, int outer, int channels, int inner) {
        for (int o = 0; o < outer; o++) {
            for (int c = 0; c < channels; c++) {
                int r = (o * channels + c) * inner;
                float acc = 0;
                for (int i = 0; i < inner; i++) {
                    acc += dy[r + i];
                }
                dbias[c] += acc;
            }
        }
    }

    /** out = a + b. */
    public static void add(float[] a, float[] b, float[] out, int n) {
        for (int i = 0; i < n; i++) {
            out[i] = a[i] + b[i];
        }
    }

    /** y += alpha * x. */
    public static void axpy(double alpha, float[] x, float[] y, int n) {
        final float al = (float) alpha;
        for (int i = 0; i < n; i++) {
            y[i] += al * x[i];
        }
    }

    /** x *= alpha. */
    public static void scale(double alpha, float[] x, int n) {
        final float al = (float) alpha;
        for (int i = 0; i < n; i++) {
            x[i] *= al;
        }
    }

    public static double sum(float[] x, int n) {
        double acc = 0;
        for (int i = 0; i < n; i++) {
            acc += x[i];
        }
        return acc;
    }

    public static double sumOfSquares(float[] x, int n) {
        double acc = 0;
        for (int i = 0; i < n; i++) {
            acc += (double) x[i] * x[i];
        }
        return acc;
    }
}
