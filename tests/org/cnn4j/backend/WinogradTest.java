package org.cnn4j.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.cnn4j.backend.FloatDoubleParityTest.ConvCfg;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Window2d;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The native CPU backend's Winograd convolutions (F(4x4,3x3) and F(2x2,3x3), chosen by shape
 * for float 3x3 convolutions with unit stride and dilation and one group), on every
 * instruction-set path this CPU has:
 * <ul>
 *   <li>each of forward, backward-data and backward-filter is within the FP32 error bound
 *       derived in {@link WinogradBound} of the exact (pure-Java FLOAT64) result, element by
 *       element;</li>
 *   <li>the result is bit-identical on 1, 2 and 3 threads;</li>
 *   <li>it differs from the direct convolution's (so Winograd really ran);</li>
 *   <li>the error stays within a small factor of the direct convolution's.</li>
 * </ul>
 */
class WinogradTest extends NativeComparison {

    static List<ConvCfg> shapes() {
        Window2d same = Window2d.square(3, 1, 1);
        return List.of(
                new ConvCfg(2, 16, 8, 8, 16, same, 1),                  // F(4x4), whole tiles
                new ConvCfg(2, 24, 7, 9, 20, same, 1),                  // ragged last tiles, channels not x16
                new ConvCfg(3, 16, 2, 2, 32, same, 1),                  // F(2x2)
                new ConvCfg(1, 17, 6, 6, 33, Window2d.square(3, 1, 2), 1),   // padding 2 (larger output)
                new ConvCfg(2, 16, 9, 10, 18, new Window2d(3, 3, 1, 1, 0, 1, 1, 0, 1, 1), 1),  // uneven padding
                new ConvCfg(9, 24, 12, 12, 24, same, 1),                // images in groups, summed in fixed slots
                new ConvCfg(2, 16, 20, 20, 16, same, 1),                // an image larger than a block
                new ConvCfg(1, 32, 11, 70, 40, Window2d.square(3, 1, 2), 1),  // rows of several 16-column groups, padding 2
                new ConvCfg(1, 96, 4, 4, 96, same, 1),
                new ConvCfg(2, 304, 4, 4, 304, same, 1),                // filters over 12 MiB: shared blocks
                new ConvCfg(2, 260, 4, 4, 24, same, 1),                 // private blocks with packed tile rows
                new ConvCfg(1, 500, 2, 2, 400, same, 1));               // shared, F(2x2), a partial channel block
    }

    static Stream<Arguments> cases() {
        return onEveryIsa(shapes());
    }

    private static final String[] OUTPUTS = {"forward y", "backward-data dx", "backward-filter dw"};

    @ParameterizedTest(name = "[{index}] {0} {1}")
    @MethodSource("cases")
    void withinTheDerivedBoundOnEveryThreadCount(String isa, ConvCfg cfg) {
        NativeCpuBackend.setIsa(isa);
        NativeCpuBackend.setConvAlgorithm("auto");
        double[][] exact = FloatDoubleParityTest.runConv(ref, DType.FLOAT64, cfg, 7);
        double[][] wino = convOnEveryThreadCount(isa, cfg, 7, OUTPUTS);
        NativeCpuBackend.setConvAlgorithm("direct");
        double[][] direct = FloatDoubleParityTest.runConv(natives[1], DType.FLOAT32, cfg, 7);
        NativeCpuBackend.setConvAlgorithm("auto");

        WinogradBound[] bounds = bounds(cfg);
        for (int i = 0; i < OUTPUTS.length; i++) {
            String what = isa + " " + cfg + " " + OUTPUTS[i];
            WinogradBound.Bounded b = boundOf(i, bounds[i], cfg);
            assertEquals(exact[i].length, b.v().length, what);
            double worst = 0, worstDirect = 0, scale = 0;
            for (int q = 0; q < exact[i].length; q++) {
                // the bound's own double-precision evaluation differs from the reference's by rounding only
                double slack = 1e-12 * (Math.abs(exact[i][q]) + 1);
                assertTrue(Math.abs(b.v()[q] - exact[i][q]) <= slack + 1e-9 * b.e()[q] + 1e-10,
                        what + ": the bound's Winograd evaluation disagrees with the reference at " + q);
                double err = Math.abs(wino[i][q] - exact[i][q]);
                final int at = q;
                assertTrue(err <= b.e()[q] + slack, () -> what + ": error " + err + " at " + at
                        + " exceeds the derived bound " + b.e()[at]);
                worst = Math.max(worst, err);
                worstDirect = Math.max(worstDirect, Math.abs(direct[i][q] - exact[i][q]));
                scale = Math.max(scale, Math.abs(exact[i][q]));
            }
            assertFalse(Arrays.equals(wino[i], direct[i]), what + ": Winograd did not run (same as direct)");
            // Measured, not derived: F(4x4) amplifies rounding by its transforms (the bound allows up to
            // 256x at a tile's corner); in practice the error stays within a few times the direct one's.
            double floor = WinogradBound.U * scale;
            assertTrue(worst <= 64 * Math.max(worstDirect, floor),
                    what + ": max error " + worst + " against the direct convolution's " + worstDirect);
        }
        // the bias gradient is the direct row sums on both paths
        FloatDoubleParityTest.assertClose(isa + " " + cfg + " dbias", exact[3], wino[3], NativeParityTest.F32_TOL);
    }

    /** For forward, backward-data (its forward form) and backward-filter: the tile the kernels choose. */
    private static WinogradBound[] bounds(ConvCfg cfg) {
        Window2d v = cfg.win();
        int oh = v.outH(cfg.h()), ow = v.outW(cfg.w());
        return new WinogradBound[] {new WinogradBound(WinogradBound.tileFor(oh, ow)),
            new WinogradBound(WinogradBound.tileFor(cfg.h(), cfg.w())),
            new WinogradBound(WinogradBound.tileFor(oh, ow))};
    }

    /** Recreates runConv's data (same seed, same order) and evaluates the bound of output i. */
    private static WinogradBound.Bounded boundOf(int i, WinogradBound wb, ConvCfg cfg) {
        java.util.SplittableRandom rng = new java.util.SplittableRandom(7);
        int n = cfg.n(), c = cfg.c(), h = cfg.h(), w = cfg.w(), k = cfg.k();
        Window2d v = cfg.win();
        int oh = v.outH(h), ow = v.outW(w);
        double[] x = FloatDoubleParityTest.data(rng, cfg.x().numel(), -1, 1);
        double[] wt = FloatDoubleParityTest.data(rng, cfg.wt().numel(), -1, 1);
        double[] bias = FloatDoubleParityTest.data(rng, k, -1, 1);
        double[] dy = FloatDoubleParityTest.data(rng, cfg.y().numel(), -1, 1);
        FloatDoubleParityTest.data(rng, cfg.x().numel(), -9, 9);  // dx's initial values (overwritten)
        double[] dw0 = FloatDoubleParityTest.data(rng, cfg.wt().numel(), -1, 1);
        return switch (i) {
            case 0 -> wb.forward(n, c, h, w, k, oh, ow, v.padTop(), v.padLeft(), x,
                    (o, in, rs) -> wt[(o * c + in) * 9 + rs], bias);
            // dx = conv(dy, W'[c][k][r][s] = W[k][c][2 - r][2 - s], padding 2 - p)
            case 1 -> wb.forward(n, k, oh, ow, c, h, w, 2 - v.padTop(), 2 - v.padLeft(), dy,
                    (o, in, rs) -> wt[(in * c + o) * 9 + 8 - rs], null);
            default -> wb.backwardFilter(n, c, h, w, k, oh, ow, v.padTop(), v.padLeft(), x, dy, dw0);
        };
    }

    @Test
    void theAlgorithmSettingIsCheckedAndReadBack() {
        NativeCpuBackend.setConvAlgorithm("direct");
        assertEquals("direct", NativeCpuBackend.convAlgorithm());
        NativeCpuBackend.setConvAlgorithm("auto");
        assertEquals("auto", NativeCpuBackend.convAlgorithm());
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> NativeCpuBackend.setConvAlgorithm("winograd"));
        assertTrue(e.getMessage().contains("'winograd'") && e.getMessage().contains("auto, direct"), e.getMessage());
        System.setProperty("cnn4j.cpu.conv", "direct");
        try (NativeCpuBackend b = NativeCpuBackend.create(1)) {
            assertEquals("direct", NativeCpuBackend.convAlgorithm());
        } finally {
            System.clearProperty("cnn4j.cpu.conv");
            NativeCpuBackend.setConvAlgorithm("auto");
        }
    }
}
