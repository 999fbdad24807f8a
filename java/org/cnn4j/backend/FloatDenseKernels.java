package org.cnn4j.backend;

/**
 * The dense layers' matrix product and the GEMM that the convolutions share, with the
 * per-thread scratch buffers: the pure-Java kernels, computing in {@code float}.
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
public final class FloatDenseKernels {
    private FloatDenseKernels() {
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
    static void multiplyAdd(float[] acc, float[] a, float[] b, int n) {
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
}
