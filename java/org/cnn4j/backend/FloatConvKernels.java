package org.cnn4j.backend;

import org.cnn4j.tensor.Window2d;

/**
 * Convolutions (im2col + GEMM per image and group), forward, backward-data and backward-filter: the pure-Java kernels, computing in {@code float}.
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
public final class FloatConvKernels {
    private FloatConvKernels() {
    }

    /** First output index whose input coordinate o*s - pad + t*d is >= 0. */
    private static int firstValid(int pad, int tap, int stride) {
        int num = pad - tap;
        return num <= 0 ? 0 : (num + stride - 1) / stride;
    }

    /** One past the last output index whose input coordinate is < in, clamped to [lo, out]. */
    private static int endValid(int in, int pad, int tap, int stride, int lo, int out) {
        int num = in + pad - tap;
        int hi = num <= 0 ? 0 : (num + stride - 1) / stride;
        return Math.max(lo, Math.min(out, hi));
    }

    /**
     * col[(c*KH + kh)*KW + kw][oh*OW + ow] = x[c, oh*sh - pt + kh*dh, ow*sw - pl + kw*dw]
     * (zero outside the input), for the channels of one image and group.
     */
    static void im2col(float[] x, int xOff, int channels, int h, int w, Window2d win, int oh, int ow,
                       float[][] col) {
        final int kh = win.kernelH(), kw = win.kernelW(), sh = win.strideH(), sw = win.strideW();
        final int pt = win.padTop(), pl = win.padLeft(), dh = win.dilationH(), dw = win.dilationW();
        int row = 0;
        for (int c = 0; c < channels; c++) {
            int xc = xOff + c * h * w;
            for (int i = 0; i < kh; i++) {
                int tapH = i * dh;
                int ohLo = firstValid(pt, tapH, sh);
                int ohHi = endValid(h, pt, tapH, sh, ohLo, oh);
                for (int j = 0; j < kw; j++, row++) {
                    int tapW = j * dw;
                    int owLo = firstValid(pl, tapW, sw);
                    int owHi = endValid(w, pl, tapW, sw, owLo, ow);
                    float[] r = col[row];
                    for (int y = 0; y < oh; y++) {
                        int d = y * ow;
                        if (y < ohLo || y >= ohHi) {
                            java.util.Arrays.fill(r, d, d + ow, 0);
                            continue;
                        }
                        java.util.Arrays.fill(r, d, d + owLo, 0);
                        int src = xc + (y * sh - pt + tapH) * w - pl + tapW;
                        if (sw == 1) {
                            System.arraycopy(x, src + owLo, r, d + owLo, owHi - owLo);
                        } else {
                            for (int q = owLo; q < owHi; q++) {
                                r[d + q] = x[src + q * sw];
                            }
                        }
                        java.util.Arrays.fill(r, d + owHi, d + ow, 0);
                    }
                }
            }
        }
    }

    /** The adjoint of {@link #im2col} from a flat [rows, oh*ow] buffer: dx[...] += col[...]. */
    static void col2im(float[] col, int channels, int h, int w, Window2d win, int oh, int ow,
                       float[] dx, int dxOff) {
        final int kh = win.kernelH(), kw = win.kernelW(), sh = win.strideH(), sw = win.strideW();
        final int pt = win.padTop(), pl = win.padLeft(), dh = win.dilationH(), dw = win.dilationW();
        final int ohw = oh * ow;
        int row = 0;
        for (int c = 0; c < channels; c++) {
            int xc = dxOff + c * h * w;
            for (int i = 0; i < kh; i++) {
                int tapH = i * dh;
                int ohLo = firstValid(pt, tapH, sh);
                int ohHi = endValid(h, pt, tapH, sh, ohLo, oh);
                for (int j = 0; j < kw; j++, row++) {
                    int tapW = j * dw;
                    int owLo = firstValid(pl, tapW, sw);
                    int owHi = endValid(w, pl, tapW, sw, owLo, ow);
                    int srcRow = row * ohw;
                    for (int y = ohLo; y < ohHi; y++) {
                        int s = srcRow + y * ow;
                        int d = xc + (y * sh - pt + tapH) * w - pl + tapW;
                        for (int q = owLo; q < owHi; q++) {
                            dx[d + q * sw] += col[s + q];
                        }
                    }
                }
            }
        }
    }

    /**
     * y[N,K,OH,OW] = conv(x[N,C,H,W], w[K,C/G,KH,KW]) + bias[K] (bias may be null).
     * Images are split across threads.
     */
    public static void conv2dForward(Parallel par, FloatDenseKernels.Scratch[] scratch, ConvDims d,
                                     float[] x, float[] wt, float[] bias, float[] y) {
        final int cg = d.c() / d.groups(), kg = d.k() / d.groups(), ohw = d.oh() * d.ow();
        final int ckk = cg * d.win().kernelH() * d.win().kernelW();
        par.forRange(d.n(), 1, (n0, n1, worker) -> {
            FloatDenseKernels.Scratch s = scratch[worker];
            float[][] col = s.rowsA(ckk, ohw);
            float[] t = s.row(ohw);
            for (int n = n0; n < n1; n++) {
                for (int g = 0; g < d.groups(); g++) {
                    int xOff = (n * d.c() + g * cg) * d.h() * d.w();
                    int yOff = (n * d.k() + g * kg) * ohw;
                    im2col(x, xOff, cg, d.h(), d.w(), d.win(), d.oh(), d.ow(), col);
                    FloatDenseKernels.gemm(kg, ohw, ckk, wt, g * kg * ckk, ckk, 1, col, y, yOff, ohw, false, bias, g * kg, t);
                }
            }
        });
    }

    /** dx[N,C,H,W] = the gradient of the convolution with respect to its input. */
    public static void conv2dBackwardData(Parallel par, FloatDenseKernels.Scratch[] scratch, ConvDims d,
                                          float[] dy, float[] wt, float[] dx) {
        final int cg = d.c() / d.groups(), kg = d.k() / d.groups(), ohw = d.oh() * d.ow();
        final int hw = d.h() * d.w();
        final int ckk = cg * d.win().kernelH() * d.win().kernelW();
        par.forRange(d.n(), 1, (n0, n1, worker) -> {
            FloatDenseKernels.Scratch s = scratch[worker];
            float[][] dyRows = s.rowsA(kg, ohw);
            float[] dcol = s.flat(ckk * ohw);
            float[] t = s.row(ohw);
            for (int n = n0; n < n1; n++) {
                for (int g = 0; g < d.groups(); g++) {
                    int xOff = (n * d.c() + g * cg) * hw;
                    int yOff = (n * d.k() + g * kg) * ohw;
                    FloatDenseKernels.packRows(dy, yOff, kg, ohw, ohw, dyRows);
                    // dcol[ckk, ohw] = W_g^T[ckk, kg] * dy_g[kg, ohw]
                    FloatDenseKernels.gemm(ckk, ohw, kg, wt, g * kg * ckk, 1, ckk, dyRows, dcol, 0, ohw, false, null, 0, t);
                    java.util.Arrays.fill(dx, xOff, xOff + cg * hw, 0);
                    col2im(dcol, cg, d.h(), d.w(), d.win(), d.oh(), d.ow(), dx, xOff);
                }
            }
        });
    }

    /**
     * dw[K,C/G,KH,KW] += correlation of x with dy; dbias[K] += sum of dy over N, OH, OW
     * (dbias may be null). Each thread sums its images into a private partial, then the
     * partials are added into dw in a fixed order (deterministic for a fixed thread count).
     */
    public static void conv2dBackwardFilter(Parallel par, FloatDenseKernels.Scratch[] scratch, ConvDims d,
                                            float[] x, float[] dy, float[] dw, float[] dbias) {
        final int cg = d.c() / d.groups(), kg = d.k() / d.groups(), ohw = d.oh() * d.ow();
        final int ckk = cg * d.win().kernelH() * d.win().kernelW();
        final int wn = d.k() * ckk;
        final int partLen = wn + d.k();
        // Few weights per filter and many output pixels (a first layer): accumulate the
        // products element-wise over the pixels in one row per weight, and reduce each row
        // once at the end; this keeps the long pixel axis as the vectorised one. Otherwise
        // multiply dy by the transposed patches, vectorised along the weights.
        final boolean pixelAxis = ckk * 4 <= ohw && (long) kg * d.groups() * ckk * ohw <= (1 << 22);
        final int chunks = par.forRange(d.n(), 1, (n0, n1, worker) -> {
            FloatDenseKernels.Scratch s = scratch[worker];
            float[] part = s.part(partLen);
            java.util.Arrays.fill(part, 0, partLen, 0);
            float[][] col = s.rowsA(ckk, ohw);
            float[][] colT = pixelAxis ? null : s.rowsB(ohw, ckk);
            float[][] dyRows = pixelAxis ? s.rowsB(kg, ohw) : null;
            float[][] acc = pixelAxis ? s.rowsC(d.k() * ckk, ohw) : null;
            if (pixelAxis) {
                for (int r = 0; r < d.k() * ckk; r++) {
                    java.util.Arrays.fill(acc[r], 0, ohw, 0);
                }
            }
            float[] t = s.row(Math.max(ckk, ohw));
            for (int n = n0; n < n1; n++) {
                for (int g = 0; g < d.groups(); g++) {
                    int xOff = (n * d.c() + g * cg) * d.h() * d.w();
                    int yOff = (n * d.k() + g * kg) * ohw;
                    im2col(x, xOff, cg, d.h(), d.w(), d.win(), d.oh(), d.ow(), col);
                    if (pixelAxis) {
                        FloatDenseKernels.packRows(dy, yOff, kg, ohw, ohw, dyRows);
                        for (int kk = 0; kk < kg; kk++) {
                            float[] dyr = dyRows[kk];
                            int base = (g * kg + kk) * ckk;
                            for (int p = 0; p < ckk; p++) {
                                FloatDenseKernels.multiplyAdd(acc[base + p], dyr, col[p], ohw);
                            }
                        }
                    } else {
                        FloatDenseKernels.transposeRows(col, ckk, ohw, colT);
                        // part_w[kg, ckk] += dy_g[kg, ohw] * colT[ohw, ckk]
                        FloatDenseKernels.gemm(kg, ckk, ohw, dy, yOff, ohw, 1, colT, part, g * kg * ckk, ckk, true, null, 0, t);
                    }
                    if (dbias != null) {
                        for (int kk = 0; kk < kg; kk++) {
                            int r = yOff + kk * ohw;
                            float acc0 = 0;
                            for (int q = 0; q < ohw; q++) {
                                acc0 += dy[r + q];
                            }
                            part[wn + g * kg + kk] += acc0;
                        }
                    }
                }
            }
            if (pixelAxis) {
                for (int r = 0; r < wn; r++) {
                    float[] a = acc[r];
                    float sum = 0;
                    for (int q = 0; q < ohw; q++) {
                        sum += a[q];
                    }
                    part[r] += sum;
                }
            }
        });
        for (int w = 0; w < chunks; w++) {
            float[] part = scratch[w].part(partLen);
            for (int q = 0; q < wn; q++) {
                dw[q] += part[q];
            }
            if (dbias != null) {
                for (int q = 0; q < d.k(); q++) {
                    dbias[q] += part[wn + q];
                }
            }
        }
    }
}
