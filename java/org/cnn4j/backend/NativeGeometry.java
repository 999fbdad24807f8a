package org.cnn4j.backend;

import org.cnn4j.tensor.Window2d;

/**
 * The window geometry as the C ABI takes it ({@code cnn4j/geometry.h}): the fields of
 * {@code cnn4j_conv_geometry} or {@code cnn4j_pool_geometry} in their order, as an array of
 * int64 the binding passes where the C function expects a pointer to the struct.
 */
final class NativeGeometry {
    /** Fields of {@code cnn4j_conv_geometry}. */
    static final int CONV_FIELDS = 16;
    /** Fields of {@code cnn4j_pool_geometry}. */
    static final int POOL_FIELDS = 13;

    private NativeGeometry() {
    }

    /** {n, c, h, w, k, oh, ow, groups, then the window}. */
    static long[] conv(ConvDims d) {
        long[] g = new long[CONV_FIELDS];
        g[0] = d.n();
        g[1] = d.c();
        g[2] = d.h();
        g[3] = d.w();
        g[4] = d.k();
        g[5] = d.oh();
        g[6] = d.ow();
        g[7] = d.groups();
        window(d.win(), g, 8);
        return g;
    }

    /** {planes, h, w, oh, ow, then the window}. */
    static long[] pool(OpChecks.Pool p, Window2d win) {
        long[] g = new long[POOL_FIELDS];
        g[0] = p.planes();
        g[1] = p.h();
        g[2] = p.w();
        g[3] = p.oh();
        g[4] = p.ow();
        window(win, g, 5);
        return g;
    }

    /** cnn4j_window: {kh, kw, sh, sw, pt, pl, dh, dw} at g[at..]. */
    private static void window(Window2d v, long[] g, int at) {
        g[at] = v.kernelH();
        g[at + 1] = v.kernelW();
        g[at + 2] = v.strideH();
        g[at + 3] = v.strideW();
        g[at + 4] = v.padTop();
        g[at + 5] = v.padLeft();
        g[at + 6] = v.dilationH();
        g[at + 7] = v.dilationW();
    }
}
