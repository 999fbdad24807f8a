package org.cnn4j.backend;

/**
 * The fused softmax cross-entropy and top-k: the pure-Java kernels, computing in {@code float}.
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
public final class FloatLossKernels {
    private FloatLossKernels() {
    }

    /**
     * For logits [rows, classes] and integer labels: returns {sum of per-row losses, number
     * of rows whose arg-max equals the label}; when dlogits is not null writes
     * dlogits = (softmax(logits) - onehot(label)) * gradScale. Stable: subtracts the row max.
     */
    public static double[] softmaxCrossEntropy(float[] logits, int[] labels, float[] dlogits,
                                               int rows, int classes, double gradScale) {
        final float gs = (float) gradScale;
        double lossSum = 0;
        int correct = 0;
        for (int r = 0; r < rows; r++) {
            int o = r * classes;
            int label = labels[r];
            if (label < 0 || label >= classes) {
                throw new IllegalArgumentException("label " + label + " at row " + r + " is outside [0, "
                        + classes + ")");
            }
            float max = logits[o];
            int arg = 0;
            for (int c = 1; c < classes; c++) {
                if (logits[o + c] > max) {
                    max = logits[o + c];
                    arg = c;
                }
            }
            double denom = 0;
            for (int c = 0; c < classes; c++) {
                denom += Math.exp(logits[o + c] - max);
            }
            double logDenom = Math.log(denom);
            lossSum += logDenom - (logits[o + label] - max);
            if (arg == label) {
                correct++;
            }
            if (dlogits != null) {
                double inv = 1 / denom;
                for (int c = 0; c < classes; c++) {
                    float p = (float) (Math.exp(logits[o + c] - max) * inv);
                    dlogits[o + c] = (c == label ? p - 1 : p) * gs;
                }
            }
        }
        return new double[] {lossSum, correct};
    }

    /** For each row of [rows, classes]: writes the index of the k largest values, best first. */
    public static void topK(float[] logits, int rows, int classes, int k, int[] out) {
        for (int r = 0; r < rows; r++) {
            int o = r * classes;
            for (int t = 0; t < k; t++) {
                int best = -1;
                for (int c = 0; c < classes; c++) {
                    boolean taken = false;
                    for (int u = 0; u < t; u++) {
                        if (out[r * k + u] == c) {
                            taken = true;
                            break;
                        }
                    }
                    if (!taken && (best < 0 || logits[o + c] > logits[o + best])) {
                        best = c;
                    }
                }
                out[r * k + t] = best;
            }
        }
    }
}
