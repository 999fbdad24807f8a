package org.cnn4j.backend;

/**
 * Winograd F(m x m, 3x3) as the native CPU kernels compute it (the same transform matrices,
 * the same stages), evaluated in double precision together with a rigorous bound on the
 * rounding error of the FP32 kernels, element by element.
 *
 * <h2>The derivation</h2>
 * Let u = 2^-24 (FP32's unit roundoff) and gamma(n) = n u / (1 - n u). A value z computed in
 * FP32 as a sum of n products c_k y_k (each y_k already carrying an error of at most e_k, each
 * constant c_k stored as the nearest float, so with one rounding of its own) satisfies, in
 * whatever order the terms are added and whether or not the additions are fused with the
 * products (Higham, <i>Accuracy and Stability of Numerical Algorithms</i>, section 3.1):
 * <pre>
 *   |z_fp32 - z| &lt;= (1 + gamma(n+1)) sum |c_k| e_k  +  gamma(n+1) sum |c_k| (|y_k| + e_k)
 * </pre>
 * The kernels are a chain of such sums:
 * <ol>
 *   <li>U = G w G^T (two passes of at most 3 terms; G holds 1/6, 1/12, 1/24, which floats
 *       cannot hold exactly);</li>
 *   <li>V = B^T X B (two passes of at most 4 terms, exact integer constants);</li>
 *   <li>M = sum over the C input channels of U V: a dot product of length C, whose error is
 *       gamma(C) sum |U| |V| plus the propagated sum |U| e_V + |V| e_U + e_U e_V;</li>
 *   <li>Y = A^T M A (two passes of at most 5 terms), then the bias (one rounding).</li>
 * </ol>
 * Backward-data is the same chain on the forward form dx = conv(dy, W rotated and transposed,
 * padding 2 - p). Backward-filter is dW = G^T [sum over the T tiles of (A dY A^T) (.) V] G:
 * the same passes, a dot product of length T plus the at most 8 partial sums added at the
 * end, and the final addition into the gradient that was there.
 *
 * <p>Propagating the bound through the chain gives, for every output element, a bound that
 * holds for any summation order and thread count. Against the direct convolution, whose
 * bound is gamma(9C) sum |w| |x|, the transforms amplify: with |w| = |x| = 1 everywhere the
 * F(4x4) bound of the tile's far corner carries 2,304 where the direct one carries 9 (256x),
 * F(2x2) 64 (7x). Those are worst cases; measured errors stay near the direct ones' order
 * (a few 1e-6 of the output's scale at 16 to 64 channels), and the bound computed here
 * from the actual values is what the parity tests allow.
 */
final class WinogradBound {
    static final double U = 0x1p-24;

    static double gamma(int n) {
        return n * U / (1 - n * U);
    }

    final int m;
    final int alpha;
    final double[][] bt;
    final double[][] g;
    final double[][] at;

    WinogradBound(int m) {
        this.m = m;
        this.alpha = m + 2;
        if (m == 4) {
            bt = new double[][] {{4, 0, -5, 0, 1, 0}, {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
            g = new double[][] {{1.0 / 4, 0, 0}, {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                {1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};
            at = new double[][] {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};
        } else if (m == 2) {
            bt = new double[][] {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
            g = new double[][] {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
            at = new double[][] {{1, 1, 1, 0}, {0, 1, -1, -1}};
        } else {
            throw new IllegalArgumentException("m must be 2 or 4, got " + m);
        }
    }

    /**
     * The tile the kernels choose for an output of oh x ow: the one with fewer multiplications
     * (F(4x4) on ties), as in native/cpu/winograd.cpp.
     */
    static int tileFor(int oh, int ow) {
        long c4 = (long) ceil(oh, 4) * ceil(ow, 4) * 36;
        long c2 = (long) ceil(oh, 2) * ceil(ow, 2) * 16;
        return c4 <= c2 ? 4 : 2;
    }

    static int ceil(int a, int b) {
        return (a + b - 1) / b;
    }

    /** Values and error bounds of a vector of computed quantities. */
    record Bounded(double[] v, double[] e) {
        Bounded(int n) {
            this(new double[n], new double[n]);
        }
    }

    /** out = mat in, or mat^T in when transposed; mat is r x k (k x r when transposed). */
    private static Bounded pass(double[][] mat, boolean transposed, Bounded in, int inStride, int inOff, int r, int k,
                                Bounded out, int outStride, int outOff) {
        for (int i = 0; i < r; i++) {
            double v = 0, mag = 0, prop = 0;
            int terms = 0;
            for (int j = 0; j < k; j++) {
                double c = transposed ? mat[j][i] : mat[i][j];
                if (c == 0) {
                    continue;
                }
                terms++;
                double y = in.v[inOff + j * inStride], ey = in.e[inOff + j * inStride];
                v += c * y;
                mag += Math.abs(c) * (Math.abs(y) + ey);
                prop += Math.abs(c) * ey;
            }
            double gm = gamma(terms + 1);
            out.v[outOff + i * outStride] = v;
            out.e[outOff + i * outStride] = (1 + gm) * prop + gm * mag;
        }
        return out;
    }

    /** mat d mat^T for a k x k tile d (row-major), mat r x k (its transpose when transposed). */
    private static Bounded transform(double[][] mat, boolean transposed, Bounded d, int r, int k) {
        Bounded tmp = new Bounded(r * k);
        for (int j = 0; j < k; j++) {
            pass(mat, transposed, d, k, j, r, k, tmp, k, j);
        }
        Bounded out = new Bounded(r * r);
        for (int i = 0; i < r; i++) {
            pass(mat, transposed, tmp, 1, i * k, r, k, out, 1, i * r);
        }
        return out;
    }

    /** The transformed filter G w G^T of a 3x3 filter (exact inputs). */
    Bounded filter(double[] w9) {
        return transform(g, false, new Bounded(w9.clone(), new double[9]), alpha, 3);
    }

    /** B^T X B of the alpha x alpha input tile at (y0, x0) of one channel plane (zero outside). */
    Bounded inputTile(double[] x, int off, int h, int w, int y0, int x0) {
        Bounded d = new Bounded(alpha * alpha);
        for (int r = 0; r < alpha; r++) {
            for (int s = 0; s < alpha; s++) {
                int iy = y0 + r, ix = x0 + s;
                d.v[r * alpha + s] = iy >= 0 && iy < h && ix >= 0 && ix < w ? x[off + iy * w + ix] : 0;
            }
        }
        return transform(bt, false, d, alpha, alpha);
    }

    /** A dY A^T of the m x m output-gradient tile at (y0, x0) of one channel plane (zero outside). */
    Bounded gradientTile(double[] dy, int off, int oh, int ow, int y0, int x0) {
        Bounded d = new Bounded(m * m);
        for (int r = 0; r < m; r++) {
            for (int s = 0; s < m; s++) {
                int iy = y0 + r, ix = x0 + s;
                d.v[r * m + s] = iy < oh && ix < ow ? dy[off + iy * ow + ix] : 0;
            }
        }
        return transform(at, true, d, alpha, m);
    }

    /** Adds u v to a dot product's running value, magnitude and propagated error (index i). */
    private static void accumulate(Bounded u, Bounded v, int i, double[] acc) {
        acc[0] += u.v[i] * v.v[i];
        double au = Math.abs(u.v[i]) + u.e[i], av = Math.abs(v.v[i]) + v.e[i];
        acc[1] += au * av;
        acc[2] += Math.abs(u.v[i]) * v.e[i] + Math.abs(v.v[i]) * u.e[i] + u.e[i] * v.e[i];
    }

    /**
     * The forward form out[n][co][oh][ow] = conv(in[n][ci][h][w], wt, top/left padding pt/pl)
     * (+ bias): per element the exact value and the bound on the FP32 kernels' error.
     * wt(o, i, rs) gives the filter tap; bias may be null.
     */
    Bounded forward(int n, int ci, int h, int w, int co, int oh, int ow, int pt, int pl, double[] in, Tap wt,
                    double[] bias) {
        int th = ceil(oh, m), tw = ceil(ow, m), xi = alpha * alpha;
        Bounded[][] u = new Bounded[co][ci];
        for (int o = 0; o < co; o++) {
            for (int i = 0; i < ci; i++) {
                double[] w9 = new double[9];
                for (int rs = 0; rs < 9; rs++) {
                    w9[rs] = wt.at(o, i, rs);
                }
                u[o][i] = filter(w9);
            }
        }
        Bounded out = new Bounded(n * co * oh * ow);
        Bounded[] v = new Bounded[ci];
        for (int b = 0; b < n; b++) {
            for (int ti = 0; ti < th; ti++) {
                for (int tj = 0; tj < tw; tj++) {
                    for (int i = 0; i < ci; i++) {
                        v[i] = inputTile(in, (b * ci + i) * h * w, h, w, ti * m - pt, tj * m - pl);
                    }
                    for (int o = 0; o < co; o++) {
                        Bounded mm = new Bounded(xi);
                        for (int x = 0; x < xi; x++) {
                            double[] acc = new double[3];
                            for (int i = 0; i < ci; i++) {
                                accumulate(u[o][i], v[i], x, acc);
                            }
                            mm.v[x] = acc[0];
                            mm.e[x] = acc[2] + gamma(ci) * acc[1];
                        }
                        Bounded y = transform(at, false, mm, m, alpha);
                        for (int r = 0; r < m; r++) {
                            for (int s = 0; s < m; s++) {
                                int oy = ti * m + r, ox = tj * m + s;
                                if (oy >= oh || ox >= ow) {
                                    continue;
                                }
                                int q = ((b * co + o) * oh + oy) * ow + ox;
                                double val = y.v[r * m + s], err = y.e[r * m + s];
                                if (bias != null) {
                                    err += gamma(1) * (Math.abs(val) + err + Math.abs(bias[o]));
                                    val += bias[o];
                                }
                                out.v[q] = val;
                                out.e[q] = err;
                            }
                        }
                    }
                }
            }
        }
        return out;
    }

    /** A filter tap (output channel o, input channel i, tap rs = 3r + s). */
    interface Tap {
        double at(int o, int i, int rs);
    }

    /**
     * Backward-filter: dw0 + sum over tiles, as the kernels compute it, of the weight gradient
     * of conv(x [n][c][h][w], padding pt/pl) with output gradient dy [n][k][oh][ow].
     */
    Bounded backwardFilter(int n, int c, int h, int w, int k, int oh, int ow, int pt, int pl, double[] x,
                           double[] dy, double[] dw0) {
        int th = ceil(oh, m), tw = ceil(ow, m), xi = alpha * alpha, tiles = n * th * tw;
        double[][][] acc = new double[k][c][3 * xi];
        for (int b = 0; b < n; b++) {
            for (int ti = 0; ti < th; ti++) {
                for (int tj = 0; tj < tw; tj++) {
                    Bounded[] v = new Bounded[c];
                    for (int i = 0; i < c; i++) {
                        v[i] = inputTile(x, (b * c + i) * h * w, h, w, ti * m - pt, tj * m - pl);
                    }
                    for (int o = 0; o < k; o++) {
                        Bounded dm = gradientTile(dy, (b * k + o) * oh * ow, oh, ow, ti * m, tj * m);
                        for (int i = 0; i < c; i++) {
                            double[] a = acc[o][i];
                            for (int q = 0; q < xi; q++) {
                                double[] one = new double[3];
                                accumulate(dm, v[i], q, one);
                                a[q] += one[0];
                                a[xi + q] += one[1];
                                a[2 * xi + q] += one[2];
                            }
                        }
                    }
                }
            }
        }
        Bounded out = new Bounded(k * c * 9);
        double gt = gamma(tiles + 8);
        for (int o = 0; o < k; o++) {
            for (int i = 0; i < c; i++) {
                double[] a = acc[o][i];
                Bounded du = new Bounded(xi);
                for (int q = 0; q < xi; q++) {
                    du.v[q] = a[q];
                    du.e[q] = a[2 * xi + q] + gt * a[xi + q];
                }
                Bounded r = transform(g, true, du, 3, alpha);
                for (int rs = 0; rs < 9; rs++) {
                    int q = (o * c + i) * 9 + rs;
                    double val = dw0[q] + r.v[rs];
                    out.v[q] = val;
                    out.e[q] = r.e[rs] + gamma(1) * (Math.abs(dw0[q]) + Math.abs(r.v[rs]) + r.e[rs]);
                }
            }
        }
        return out;
    }
}
