package org.cnn4j.backend;


import java.util.List;
import java.util.stream.Stream;
import org.cnn4j.backend.FloatDoubleParityTest.ConvCfg;
import org.cnn4j.tensor.Window2d;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The native CPU backend's convolutions of small images as one GEMM per position over the
 * batch (float, one group, images and outputs of at most 4 pixels, at least 32 images, no
 * dilation across; the input gradient also needs unit stride across), on every
 * instruction-set path this CPU has:
 * <ul>
 *   <li>forward, backward-data and backward-filter match the pure-Java FLOAT64 result within
 *       the float parity tolerance of every native path;</li>
 *   <li>the result is bit-identical on 1, 2 and 3 threads;</li>
 *   <li>it differs from the im2col + GEMM result where the two add in different orders (so
 *       the per-position GEMMs really ran).</li>
 * </ul>
 * The shapes cover VGG's 2x2 layers, a 1x1 image, stride 2, vertical dilation, a 5x5
 * window wider than the image, rectangular images, an output row whose taps all fall in the
 * padding and input rows that no output reads.
 */
class PositionGemmConvTest extends NativeComparison {

    /**
     * A shape and which of its passes (f forward, d backward-data, w backward-filter) must differ
     * from im2col + GEMM: not those where both add the same terms in the same order (a 1x1
     * output's filter gradient sums over the images alone; im2col's zeros add nothing).
     */
    record Case(ConvCfg cfg, String differs) {
        @Override
        public String toString() {
            return cfg + " " + differs;
        }
    }

    static List<Case> shapes() {
        Window2d same3 = Window2d.square(3, 1, 1);
        return List.of(
                new Case(new ConvCfg(32, 20, 2, 2, 24, same3, 1), "fdw"),          // VGG-11's 2x2 layers
                new Case(new ConvCfg(40, 16, 2, 2, 16, same3, 1), "fdw"),          // more images than a GEMM panel
                new Case(new ConvCfg(33, 16, 1, 1, 17, same3, 1), ""),             // 1x1 image: only the centre tap
                new Case(new ConvCfg(32, 9, 2, 2, 12, Window2d.square(3, 2, 1), 1), "f"),  // stride 2: a 1x1 output
                new Case(new ConvCfg(32, 8, 2, 2, 8, new Window2d(3, 3, 1, 1, 2, 2, 1, 1, 2, 1), 1), "fdw"),
                new Case(new ConvCfg(32, 6, 2, 2, 10, Window2d.square(5, 1, 2), 1), "fdw"),  // window wider than the image
                new Case(new ConvCfg(34, 7, 1, 4, 5, new Window2d(1, 3, 1, 1, 0, 0, 1, 1, 1, 1), 1), "fdw"),
                new Case(new ConvCfg(32, 7, 4, 1, 5, new Window2d(3, 1, 1, 1, 1, 1, 0, 0, 1, 1), 1), "fw"),
                // output row 0 reads only the padding row above the image
                new Case(new ConvCfg(32, 5, 1, 2, 6, new Window2d(1, 1, 1, 1, 1, 0, 0, 0, 1, 1), 1), ""),
                // stride 2 down: input row 1 is read by no output
                new Case(new ConvCfg(32, 5, 2, 2, 6, new Window2d(1, 1, 2, 1, 0, 0, 0, 0, 1, 1), 1), ""));
    }

    static Stream<Arguments> cases() {
        return onEveryIsa(shapes());
    }

    @ParameterizedTest(name = "[{index}] {0} {1}")
    @MethodSource("cases")
    void matchesTheReferenceOnEveryThreadCount(String isa, Case c) {
        checkConvAlgorithm(isa, c.cfg(), 5, "auto", c.differs(), "the per-position GEMMs");
    }
}
