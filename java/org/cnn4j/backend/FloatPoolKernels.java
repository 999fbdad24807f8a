package org.cnn4j.backend;

import org.cnn4j.tensor.Window2d;

/**
 * Max and average pooling, forward and backward: the pure-Java kernels, computing in {@code float}.
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
public final class FloatPoolKernels {
    private FloatPoolKernels() {
    }

    /** y = max over each window; argmax = index (ih*W + iw) of the winner within its plane. */
    public static void maxPool2dForward(Parallel par, int planes, int h, int w, Window2d win, int oh, int ow,
                                        float[] x, float[] y, int[] argmax) {
        final int kh = win.kernelH(), kw = win.kernelW(), sh = win.strideH(), sw = win.strideW();
        final int pt = win.padTop(), pl = win.padLeft(), dh = win.dilationH(), dw = win.dilationW();
        final int hw = h * w, ohw = oh * ow;
        if (pt == 0 && pl == 0 && dh == 1 && dw == 1) {
            // No padding: every window lies inside the input, no bounds checks.
            par.forRange(planes, Math.max(1, 4096 / Math.max(1, ohw * kh * kw)), (p0, p1, worker) -> {
                for (int p = p0; p < p1; p++) {
                    int xo = p * hw, yo = p * ohw;
                    for (int i = 0; i < oh; i++) {
                        for (int j = 0; j < ow; j++) {
                            int first = (i * sh) * w + j * sw;
                            float best = x[xo + first];
                            int bi = first;
                            for (int a = 0; a < kh; a++) {
                                int r = (i * sh + a) * w + j * sw;
                                for (int b = 0; b < kw; b++) {
                                    float v = x[xo + r + b];
                                    boolean take = v > best || (v != v && best == best);
                                    best = take ? v : best;
                                    bi = take ? r + b : bi;
                                }
                            }
                            y[yo + i * ow + j] = best;
                            if (argmax != null) {
                                argmax[yo + i * ow + j] = bi;
                            }
                        }
                    }
                }
            });
            return;
        }
        par.forRange(planes, Math.max(1, 4096 / Math.max(1, ohw * kh * kw)), (p0, p1, worker) -> {
            for (int p = p0; p < p1; p++) {
                int xo = p * hw, yo = p * ohw;
                for (int i = 0; i < oh; i++) {
                    for (int j = 0; j < ow; j++) {
                        // Branch-light: selects compile to conditional moves. The first
                        // maximum wins ties; a NaN wins over numbers (propagates, as in PyTorch).
                        float best = Float.NEGATIVE_INFINITY;
                        int bi = -1;
                        for (int a = 0; a < kh; a++) {
                            int ih = i * sh - pt + a * dh;
                            if (ih < 0 || ih >= h) {
                                continue;
                            }
                            for (int b = 0; b < kw; b++) {
                                int iw = j * sw - pl + b * dw;
                                if (iw < 0 || iw >= w) {
                                    continue;
                                }
                                float v = x[xo + ih * w + iw];
                                boolean take = v > best || (v != v && best == best) || bi < 0;
                                best = take ? v : best;
                                bi = take ? ih * w + iw : bi;
                            }
                        }
                        y[yo + i * ow + j] = best;
                        if (argmax != null) {
                            argmax[yo + i * ow + j] = bi;
                        }
                    }
                }
            }
        });
    }

    /** dx = 0, then dx[argmax] += dy: each window's gradient goes to its winner (SPEC S2.5). */
    public static void maxPool2dBackward(Parallel par, int planes, int hw, int ohw,
                                         float[] dy, int[] argmax, float[] dx) {
        par.forRange(planes, Math.max(1, 4096 / Math.max(1, hw)), (p0, p1, worker) -> {
            for (int p = p0; p < p1; p++) {
                int xo = p * hw, yo = p * ohw;
                for (int q = 0; q < hw; q++) {
                    dx[xo + q] = 0;
                }
                for (int q = 0; q < ohw; q++) {
                    int idx = argmax[yo + q];
                    if (idx >= 0) {
                        dx[xo + idx] += dy[yo + q];
                    }
                }
            }
        });
    }

    private static int avgDivisor(int i, int j, int h, int w, Window2d win, boolean countIncludePad) {
        if (countIncludePad) {
            return win.kernelH() * win.kernelW();
        }
        int cnt = 0;
        for (int a = 0; a < win.kernelH(); a++) {
            int ih = i * win.strideH() - win.padTop() + a * win.dilationH();
            if (ih < 0 || ih >= h) {
                continue;
            }
            for (int b = 0; b < win.kernelW(); b++) {
                int iw = j * win.strideW() - win.padLeft() + b * win.dilationW();
                if (iw >= 0 && iw < w) {
                    cnt++;
                }
            }
        }
        return Math.max(cnt, 1);
    }

    /** y = mean over each window (padding counts as zeros when countIncludePad). */
    public static void avgPool2dForward(Parallel par, int planes, int h, int w, Window2d win, int oh, int ow,
                                        boolean countIncludePad, float[] x, float[] y) {
        final int kh = win.kernelH(), kw = win.kernelW(), sh = win.strideH(), sw = win.strideW();
        final int pt = win.padTop(), pl = win.padLeft(), dh = win.dilationH(), dw = win.dilationW();
        final int hw = h * w, ohw = oh * ow;
        par.forRange(planes, Math.max(1, 4096 / Math.max(1, ohw * kh * kw)), (p0, p1, worker) -> {
            for (int p = p0; p < p1; p++) {
                int xo = p * hw, yo = p * ohw;
                for (int i = 0; i < oh; i++) {
                    for (int j = 0; j < ow; j++) {
                        float acc = 0;
                        for (int a = 0; a < kh; a++) {
                            int ih = i * sh - pt + a * dh;
                            if (ih < 0 || ih >= h) {
                                continue;
                            }
                            for (int b = 0; b < kw; b++) {
                                int iw = j * sw - pl + b * dw;
                                if (iw >= 0 && iw < w) {
                                    acc += x[xo + ih * w + iw];
                                }
                            }
                        }
                        y[yo + i * ow + j] = acc / avgDivisor(i, j, h, w, win, countIncludePad);
                    }
                }
            }
        });
    }

    /** dx = 0, then each window spreads dy / divisor evenly over its inputs (SPEC S2.5). */
    public static void avgPool2dBackward(Parallel par, int planes, int h, int w, Window2d win, int oh, int ow,
                                         boolean countIncludePad, float[] dy, float[] dx) {
        final int kh = win.kernelH(), kw = win.kernelW(), sh = win.strideH(), sw = win.strideW();
        final int pt = win.padTop(), pl = win.padLeft(), dh = win.dilationH(), dw = win.dilationW();
        final int hw = h * w, ohw = oh * ow;
        par.forRange(planes, Math.max(1, 4096 / Math.max(1, ohw * kh * kw)), (p0, p1, worker) -> {
            for (int p = p0; p < p1; p++) {
                int xo = p * hw, yo = p * ohw;
                for (int q = 0; q < hw; q++) {
                    dx[xo + q] = 0;
                }
                for (int i = 0; i < oh; i++) {
                    for (int j = 0; j < ow; j++) {
                        float g = dy[yo + i * ow + j] / avgDivisor(i, j, h, w, win, countIncludePad);
                        for (int a = 0; a < kh; a++) {
                            int ih = i * sh - pt + a * dh;
                            if (ih < 0 || ih >= h) {
                                continue;
                            }
                            for (int b = 0; b < kw; b++) {
                                int iw = j * sw - pl + b * dw;
                                if (iw >= 0 && iw < w) {
                                    dx[xo + ih * w + iw] += g;
                                }
                            }
                        }
                    }
                }
            }
        });
    }
}
