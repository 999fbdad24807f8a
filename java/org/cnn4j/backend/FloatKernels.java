package org.cnn4j.backend;

import org.cnn4j.tensor.Window2d;

/**
 * The pure-Java compute kernels, in single precision. Layouts: activations NCHW,
 * convolution weights OIHW (O = output channels, I = input channels per group), dense
 * weights (out, in), all row-major and contiguous.
 *
 * <p>Accumulation rule, held everywhere: parameter gradients are added to ({@code +=}),
 * activation gradients are written ({@code =}).
 *
 * <p>The inner loops are written so that HotSpot's C2 compiler vectorises them: unit-stride
 * "axpy" loops over contiguous rows. The double-precision twin {@code DoubleKernels}, used by
 * the gradient checks, is generated from this file by the build (every {@code float} becomes
 * {@code double}), so this file avoids float literals with an {@code f} suffix.
 *
 * <p>GENERATE: the build derives DoubleKernels.java from this file.
 */
public final class FloatKernels {
    private FloatKernels() {
    }

    /** Per-thread scratch buffers, grown on demand and reused across calls. */
    public static final class Scratch {
        private float[][] rowsA = new float[0][];
        private float[][] rowsB = new float[0][];
        private float[][] rowsC = new float[0][];
        private float[] row = new float[0];
        private float[] flat = new float[0];
        private float[] part = new float[0];

        private static float[][] grow(float[][] rows, int count, int len) {
            if (rows.length < count || (count > 0 && rows[0].length < len)) {
                int c = Math.max(count, rows.length);
                int l = Math.max(len, rows.length > 0 ? rows[0].length : 0);
                rows = new float[c][l];
            }
            return rows;
        }

        float[][] rowsA(int count, int len) {
            return rowsA = grow(rowsA, count, len);
        }

        float[][] rowsB(int count, int len) {
            return rowsB = grow(rowsB, count, len);
        }

        float[][] rowsC(int count, int len) {
            return rowsC = grow(rowsC, count, len);
        }

        float[] row(int n) {
            if (row.length < n) {
                row = new float[n];
            }
            return row;
        }

        float[] flat(int n) {
            if (flat.length < n) {
                flat = new float[n];
            }
            return flat;
        }

        float[] part(int n) {
            if (part.length < n) {
                part = new float[n];
            }
            return part;
        }
    }

    // ------------------------------------------------------------------------------------
    // GEMM
    //
    // HotSpot (C2) vectorises a loop only when it can rule out that a store feeds a later
    // load; with two arrays indexed at different offsets it cannot, and the loop runs
    // scalar (measured: 3.6 against 35 GFLOP/s on one core). So B is held as an array of
    // rows and C is accumulated in a row buffer, all indexed by the same j: every inner
    // loop below has that form.
    // ------------------------------------------------------------------------------------

    /** t[j] += a0*b0[j] + a1*b1[j] + a2*b2[j] + a3*b3[j] for j in [0, n). */
    private static void axpy4(float[] t, int n, float a0, float[] b0, float a1, float[] b1,
                              float a2, float[] b2, float a3, float[] b3) {
        for (int j = 0; j < n; j++) {
            t[j] += a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j];
        }
    }

    /** t[j] += a0*b0[j] for j in [0, n). */
    private static void axpy1(float[] t, int n, float a0, float[] b0) {
        for (int j = 0; j < n; j++) {
            t[j] += a0 * b0[j];
        }
    }

    /**
     * C[M,N] (+)= A[M,K] * B[K,N] with B given as K row arrays of length >= N. A is read
     * through strides (A(i,k) = a[aOff + i*ars + k*acs]), so a transposed A costs nothing;
     * C is row-major at cOff with leading dimension ldc. {@code rowInit}, when not null, gives
     * each C row's starting value (a bias per row) and accumulate is ignored; otherwise C is
     * overwritten unless {@code accumulate}. {@code t} is a row buffer of length >= N.
     */
    static void gemm(int m, int n, int k, float[] a, int aOff, int ars, int acs, float[][] b,
                     float[] c, int cOff, int ldc, boolean accumulate, float[] rowInit, int rowInitOff,
                     float[] t) {
        for (int i = 0; i < m; i++) {
            int ci = cOff + i * ldc;
            if (rowInit != null) {
                java.util.Arrays.fill(t, 0, n, rowInit[rowInitOff + i]);
            } else if (accumulate) {
                System.arraycopy(c, ci, t, 0, n);
            } else {
                java.util.Arrays.fill(t, 0, n, 0);
            }
            int ai = aOff + i * ars;
            int p = 0;
            for (; p + 3 < k; p += 4) {
                axpy4(t, n, a[ai + p * acs], b[p], a[ai + (p + 1) * acs], b[p + 1],
                        a[ai + (p + 2) * acs], b[p + 2], a[ai + (p + 3) * acs], b[p + 3]);
            }
            for (; p < k; p++) {
                axpy1(t, n, a[ai + p * acs], b[p]);
            }
            System.arraycopy(t, 0, c, ci, n);
        }
    }

    /** acc[j] += a[j] * b[j] for j in [0, n). */
    private static void multiplyAdd(float[] acc, float[] a, float[] b, int n) {
        for (int j = 0; j < n; j++) {
            acc[j] += a[j] * b[j];
        }
    }

    /** dst[r][0..cols) = src[off + r*ld ..] for r in [0, rows): copies a matrix into row arrays. */
    static void packRows(float[] src, int off, int rows, int cols, int ld, float[][] dst) {
        for (int r = 0; r < rows; r++) {
            System.arraycopy(src, off + r * ld, dst[r], 0, cols);
        }
    }

    /** dst[c][r] = src[off + r*ld + c]: the transpose of a [rows, cols] matrix, as row arrays. */
    static void packRowsTransposed(float[] src, int off, int rows, int cols, int ld, float[][] dst) {
        final int tile = 16;
        for (int r0 = 0; r0 < rows; r0 += tile) {
            int r1 = Math.min(rows, r0 + tile);
            for (int c = 0; c < cols; c++) {
                float[] d = dst[c];
                for (int r = r0; r < r1; r++) {
                    d[r] = src[off + r * ld + c];
                }
            }
        }
    }

    /** The transpose of a matrix held as row arrays: dst[c][r] = src[r][c]. */
    static void transposeRows(float[][] src, int rows, int cols, float[][] dst) {
        final int tile = 16;
        for (int r0 = 0; r0 < rows; r0 += tile) {
            int r1 = Math.min(rows, r0 + tile);
            for (int c = 0; c < cols; c++) {
                float[] d = dst[c];
                for (int r = r0; r < r1; r++) {
                    d[r] = src[r][c];
                }
            }
        }
    }

    /**
     * C[M,N] (+)= op(A) * op(B) for row-major A and B (op = optional transpose), C row-major;
     * rows of C are split across threads.
     */
    public static void matmul(Parallel par, Scratch[] scratch, boolean transA, boolean transB,
                              int m, int n, int k, float[] a, float[] b, float[] c, boolean accumulate) {
        // op(B) as k row arrays of length n, shared read-only by all workers.
        final float[][] bRows = scratch[0].rowsA(k, n);
        if (transB) {
            packRowsTransposed(b, 0, n, k, k, bRows);
        } else {
            packRows(b, 0, k, n, n, bRows);
        }
        final int ars = transA ? 1 : k;
        final int acs = transA ? m : 1;
        long work = (long) m * n * k;
        int minRows = work < 1 << 16 ? m : (int) Math.max(1, (1L << 16) / Math.max(1L, (long) n * k));
        par.forRange(m, minRows, (i0, i1, w) ->
                gemm(i1 - i0, n, k, a, i0 * ars, ars, acs, bRows, c, i0 * n, n, accumulate, null, 0,
                        scratch[w].row(n)));
    }

    // ------------------------------------------------------------------------------------
    // Convolution: im2col + GEMM per image and group
    // ------------------------------------------------------------------------------------

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
    public static void conv2dForward(Parallel par, Scratch[] scratch, ConvDims d,
                                     float[] x, float[] wt, float[] bias, float[] y) {
        final int cg = d.c() / d.groups(), kg = d.k() / d.groups(), ohw = d.oh() * d.ow();
        final int ckk = cg * d.win().kernelH() * d.win().kernelW();
        par.forRange(d.n(), 1, (n0, n1, worker) -> {
            Scratch s = scratch[worker];
            float[][] col = s.rowsA(ckk, ohw);
            float[] t = s.row(ohw);
            for (int n = n0; n < n1; n++) {
                for (int g = 0; g < d.groups(); g++) {
                    int xOff = (n * d.c() + g * cg) * d.h() * d.w();
                    int yOff = (n * d.k() + g * kg) * ohw;
                    im2col(x, xOff, cg, d.h(), d.w(), d.win(), d.oh(), d.ow(), col);
                    gemm(kg, ohw, ckk, wt, g * kg * ckk, ckk, 1, col, y, yOff, ohw, false, bias, g * kg, t);
                }
            }
        });
    }

    /** dx[N,C,H,W] = the gradient of the convolution with respect to its input. */
    public static void conv2dBackwardData(Parallel par, Scratch[] scratch, ConvDims d,
                                          float[] dy, float[] wt, float[] dx) {
        final int cg = d.c() / d.groups(), kg = d.k() / d.groups(), ohw = d.oh() * d.ow();
        final int hw = d.h() * d.w();
        final int ckk = cg * d.win().kernelH() * d.win().kernelW();
        par.forRange(d.n(), 1, (n0, n1, worker) -> {
            Scratch s = scratch[worker];
            float[][] dyRows = s.rowsA(kg, ohw);
            float[] dcol = s.flat(ckk * ohw);
            float[] t = s.row(ohw);
            for (int n = n0; n < n1; n++) {
                for (int g = 0; g < d.groups(); g++) {
                    int xOff = (n * d.c() + g * cg) * hw;
                    int yOff = (n * d.k() + g * kg) * ohw;
                    packRows(dy, yOff, kg, ohw, ohw, dyRows);
                    // dcol[ckk, ohw] = W_g^T[ckk, kg] * dy_g[kg, ohw]
                    gemm(ckk, ohw, kg, wt, g * kg * ckk, 1, ckk, dyRows, dcol, 0, ohw, false, null, 0, t);
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
    public static void conv2dBackwardFilter(Parallel par, Scratch[] scratch, ConvDims d,
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
            Scratch s = scratch[worker];
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
                        packRows(dy, yOff, kg, ohw, ohw, dyRows);
                        for (int kk = 0; kk < kg; kk++) {
                            float[] dyr = dyRows[kk];
                            int base = (g * kg + kk) * ckk;
                            for (int p = 0; p < ckk; p++) {
                                multiplyAdd(acc[base + p], dyr, col[p], ohw);
                            }
                        }
                    } else {
                        transposeRows(col, ckk, ohw, colT);
                        // part_w[kg, ckk] += dy_g[kg, ohw] * colT[ohw, ckk]
                        gemm(kg, ckk, ohw, dy, yOff, ohw, 1, colT, part, g * kg * ckk, ckk, true, null, 0, t);
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

    // ------------------------------------------------------------------------------------
    // Pooling (planes of N*C split across threads)
    // ------------------------------------------------------------------------------------

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

    // ------------------------------------------------------------------------------------
    // Element-wise ops
    // ------------------------------------------------------------------------------------

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

    // ------------------------------------------------------------------------------------
    // Fused softmax + cross-entropy
    // ------------------------------------------------------------------------------------

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

    // ------------------------------------------------------------------------------------
    // Fused optimizer updates (PyTorch semantics), one pass over a parameter tensor
    // ------------------------------------------------------------------------------------

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

    // ------------------------------------------------------------------------------------
    // Batch normalisation over dimension 1 of [outer, channels, inner] (SPEC S6)
    // ------------------------------------------------------------------------------------

    /**
     * With batchStats: mean and biased variance of each channel over outer x inner go to
     * saveMean and saveInvStd = 1/sqrt(var + eps), and the running statistics move by momentum
     * (the running variance takes the unbiased estimate, as in PyTorch). Otherwise the running
     * statistics are used (and written to saveMean/saveInvStd). y = gamma * xhat + beta, or
     * max(that, 0) with relu (the ReLU activation fused).
     */
    public static void batchNormForward(float[] x, float[] gamma, float[] beta, float[] runMean, float[] runVar,
                                        float[] y, float[] saveMean, float[] saveInvStd, int outer, int channels,
                                        int inner, boolean batchStats, double momentum, double eps, boolean relu) {
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
