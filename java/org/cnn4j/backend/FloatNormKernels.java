package org.cnn4j.backend;

/**
 * Batch normalisation, dropout, element-wise product, maxout and channel copies: the pure-Java kernels, computing in {@code float}.
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
public final class FloatNormKernels {
    private FloatNormKernels() {
    }

    /**
     * With batchStats: mean and biased variance of each channel over outer x inner go to
     * saveMean and saveInvStd = 1/sqrt(var + eps), and the running statistics move by momentum
     * (the running variance takes the unbiased estimate, as in PyTorch). Otherwise the running
     * statistics are used (and written to saveMean/saveInvStd). y = gamma * xhat + beta, plus
     * residual (may be null) as the add op would, then max(that, 0) with relu (the add and
     * the ReLU activation fused).
     */
    public static void batchNormForward(float[] x, float[] gamma, float[] beta, float[] runMean, float[] runVar,
                                        float[] y, float[] saveMean, float[] saveInvStd, int outer, int channels,
                                        int inner, boolean batchStats, double momentum, double eps, boolean relu,
                                        float[] residual) {
        final long m = (long) outer * inner;
        for (int c = 0; c < channels; c++) {
            double mean;
            double invStd;
            if (batchStats) {
                double sum = 0;
                for (int o = 0; o < outer; o++) {
                    int r = (o * channels + c) * inner;
                    for (int i = 0; i < inner; i++) {
                        sum += x[r + i];
                    }
                }
                mean = sum / m;
                double sq = 0;
                for (int o = 0; o < outer; o++) {
                    int r = (o * channels + c) * inner;
                    for (int i = 0; i < inner; i++) {
                        double d = x[r + i] - mean;
                        sq += d * d;
                    }
                }
                double var = sq / m;
                invStd = 1 / Math.sqrt(var + eps);
                double unbiased = m > 1 ? sq / (m - 1) : var;
                runMean[c] = (float) ((1 - momentum) * runMean[c] + momentum * mean);
                runVar[c] = (float) ((1 - momentum) * runVar[c] + momentum * unbiased);
            } else {
                mean = runMean[c];
                invStd = 1 / Math.sqrt(runVar[c] + eps);
            }
            saveMean[c] = (float) mean;
            saveInvStd[c] = (float) invStd;
            final float a = (float) (gamma[c] * invStd);
            final float b = (float) (beta[c] - gamma[c] * invStd * mean);
            for (int o = 0; o < outer; o++) {
                int r = (o * channels + c) * inner;
                for (int i = 0; i < inner; i++) {
                    float v = a * x[r + i] + b;
                    if (residual != null) {
                        v += residual[r + i];
                    }
                    y[r + i] = relu ? Math.max(v, 0) : v;  // as the ReLU activation
                }
            }
        }
    }

    /**
     * dgamma += sum dy*xhat, dbeta += sum dy; dx = gamma*invStd/m * (m*dy - sum dy - xhat * sum dy*xhat)
     * with batch statistics, or dx = gamma*invStd*dy with running ones. dx may be null. With
     * reluY (the fused forward's output) dy counts only where reluY > 0, as after the ReLU's
     * own backward pass.
     */
    public static void batchNormBackward(float[] x, float[] dy, float[] gamma, float[] saveMean, float[] saveInvStd,
                                         float[] dx, float[] dgamma, float[] dbeta, int outer, int channels,
                                         int inner, boolean batchStats, float[] reluY) {
        final long m = (long) outer * inner;
        for (int c = 0; c < channels; c++) {
            final double mean = saveMean[c], invStd = saveInvStd[c];
            double sumDy = 0, sumDyXhat = 0;
            for (int o = 0; o < outer; o++) {
                int r = (o * channels + c) * inner;
                for (int i = 0; i < inner; i++) {
                    float g = reluY == null ? dy[r + i] : Bits.wherePositive(reluY[r + i], dy[r + i]);
                    sumDy += g;
                    sumDyXhat += g * ((x[r + i] - mean) * invStd);
                }
            }
            dgamma[c] += (float) sumDyXhat;
            dbeta[c] += (float) sumDy;
            if (dx == null) {
                continue;
            }
            final double g = gamma[c] * invStd;
            for (int o = 0; o < outer; o++) {
                int r = (o * channels + c) * inner;
                for (int i = 0; i < inner; i++) {
                    float d = reluY == null ? dy[r + i] : Bits.wherePositive(reluY[r + i], dy[r + i]);
                    if (batchStats) {
                        double xhat = (x[r + i] - mean) * invStd;
                        dx[r + i] = (float) (g * (d - sumDy / m - xhat * sumDyXhat / m));
                    } else {
                        dx[r + i] = (float) (g * d);
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------
    // Dropout, element-wise product, maxout, channel copies
    // ------------------------------------------------------------------------------------

    /**
     * mask[i] = 0 with probability p, else 1/(1-p), from a counter-based hash of (seed, i)
     * that the native kernels compute identically; y = x * mask.
     */
    public static void dropoutForward(float[] x, float[] y, float[] mask, int n, double p, long seed) {
        final long threshold = Bits.dropThreshold(p);
        final float keep = (float) (1 / (1 - p));
        for (int i = 0; i < n; i++) {
            float mk = Bits.dropHash(seed, i) >= threshold ? keep : 0;
            mask[i] = mk;
            y[i] = x[i] * mk;
        }
    }

    /** out = a * b. */
    public static void multiply(float[] a, float[] b, float[] out, int n) {
        for (int i = 0; i < n; i++) {
            out[i] = a[i] * b[i];
        }
    }

    /**
     * y[o, c, i] = max over j < pieces of x[o, c*pieces + j, i]; argmax = that j (first maximum;
     * a NaN wins over numbers).
     */
    public static void maxoutForward(float[] x, float[] y, int[] argmax, int outer, int channels, int inner,
                                     int pieces) {
        for (int o = 0; o < outer; o++) {
            for (int c = 0; c < channels; c++) {
                int yr = (o * channels + c) * inner;
                int xr = (o * channels * pieces + c * pieces) * inner;
                for (int i = 0; i < inner; i++) {
                    float best = x[xr + i];
                    int bj = 0;
                    for (int j = 1; j < pieces; j++) {
                        float v = x[xr + j * inner + i];
                        boolean take = v > best || (v != v && best == best);
                        best = take ? v : best;
                        bj = take ? j : bj;
                    }
                    y[yr + i] = best;
                    argmax[yr + i] = bj;
                }
            }
        }
    }

    /** dx = 0, then dx[o, c*pieces + argmax, i] = dy[o, c, i]. */
    public static void maxoutBackward(float[] dy, int[] argmax, float[] dx, int outer, int channels, int inner,
                                      int pieces) {
        java.util.Arrays.fill(dx, 0, outer * channels * pieces * inner, 0);
        for (int o = 0; o < outer; o++) {
            for (int c = 0; c < channels; c++) {
                int yr = (o * channels + c) * inner;
                int xr = (o * channels * pieces + c * pieces) * inner;
                for (int i = 0; i < inner; i++) {
                    dx[xr + argmax[yr + i] * inner + i] = dy[yr + i];
                }
            }
        }
    }

    /** dst[o, dstOff + c, i] = src[o, srcOff + c, i] for c < count. */
    public static void copyChannels(float[] src, int srcChannels, int srcOff, float[] dst, int dstChannels,
                                    int dstOff, int count, int outer, int inner) {
        for (int o = 0; o < outer; o++) {
            System.arraycopy(src, (o * srcChannels + srcOff) * inner, dst, (o * dstChannels + dstOff) * inner,
                    count * inner);
        }
    }
}
