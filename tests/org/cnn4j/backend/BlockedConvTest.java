package org.cnn4j.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.List;
import java.util.stream.Stream;
import org.cnn4j.backend.FloatDoubleParityTest.ConvCfg;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Window2d;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The native CPU backend's blocked direct convolutions (float, one group, at least 16 output
 * channels, or input channels for the input gradient), on every instruction-set path this CPU
 * has, with the algorithm set to {@code direct} so that they also run the 3x3 stride-1 shapes
 * that {@code auto} gives to Winograd:
 * <ul>
 *   <li>forward, backward-data and backward-filter match the pure-Java FLOAT64 result within
 *       the float parity tolerance of every native path;</li>
 *   <li>the result is bit-identical on 1, 2 and 3 threads;</li>
 *   <li>it differs from the im2col + GEMM result (so the blocked kernels really ran), and
 *       {@code auto} gives the same bits where Winograd does not apply.</li>
 * </ul>
 * The shapes cover strides 2 and 3, dilation, uneven and rectangular windows and padding,
 * forward passes of stride 2 across that read the input in place (taps in the padding on
 * either side, rows that no column of the window covers whole),
 * forward passes without padding and of stride 1 across that read the input in place (with a
 * vertical stride, dilation, and rows of several register blocks),
 * channels that are not a multiple of 16, few input channels (a first layer, LeNet-5's
 * convolutions), rows wider than a register block, more images than the backward-filter's
 * fixed groups (whose sizes then differ: {@code slot_first} in {@code native/cpu/common.h}),
 * and the forms with pixels in the vectors (up to 16 output channels, or input channels for
 * a stride-1 input gradient; rows of 12 or more pixels) with short last vectors and channel
 * blocks, also for a first layer's forward pass with more output channels, and their
 * backward-filter through groups of several images.
 */
class BlockedConvTest extends NativeComparison {

    /**
     * A shape, which of its passes (f forward, d backward-data, w backward-filter) the blocked
     * kernels take, and whether Winograd takes it under {@code auto}. Backward-data needs 16 input
     * channels; a 1x1 window's input gradient sums in the same order as the GEMM form, so it
     * cannot tell them apart.
     */
    record Case(ConvCfg cfg, String passes, boolean winograd) {
        @Override
        public String toString() {
            return cfg + " " + passes;
        }
    }

    static List<Case> shapes() {
        Window2d s2 = Window2d.square(3, 2, 1);
        return List.of(
                new Case(new ConvCfg(3, 16, 16, 16, 32, s2, 1), "fdw", false),     // ResNet's stride-2 3x3
                new Case(new ConvCfg(20, 16, 16, 16, 16, s2, 1), "fdw", false),    // more images than filter groups (16)
                // filter groups of up to 9 images: a register block runs through 8 of them, then 1
                new Case(new ConvCfg(72, 16, 16, 16, 32, s2, 1), "w", false),
                new Case(new ConvCfg(2, 3, 12, 12, 16, Window2d.square(3, 1, 1), 1), "fw", false),  // a first layer
                // more images than its filter groups (8), which then differ in size; enough work
                // for more than one thread
                new Case(new ConvCfg(11, 3, 24, 24, 16, Window2d.square(3, 1, 1), 1), "fw", false),
                new Case(new ConvCfg(3, 6, 14, 14, 16, Window2d.square(5, 1, 0), 1), "fw", false),  // LeNet-5's conv2
                new Case(new ConvCfg(2, 8, 26, 20, 24, new Window2d(5, 3, 3, 2, 2, 1, 0, 1, 1, 1), 1), "fw", false),
                new Case(new ConvCfg(2, 16, 12, 12, 16, new Window2d(3, 3, 1, 1, 2, 2, 2, 2, 2, 2), 1), "fdw", false),
                new Case(new ConvCfg(2, 16, 10, 10, 32, Window2d.square(1, 2, 0), 1), "f", false),  // a projection shortcut
                new Case(new ConvCfg(2, 28, 18, 17, 28, s2, 1), "fdw", false),     // channels not x16
                new Case(new ConvCfg(1, 16, 40, 70, 16, s2, 1), "fdw", false),     // rows of several register blocks
                // stride 2 across, read in place: dilated taps with padding on both sides; no
                // column of the window inside the image for every output column (the rows start
                // from the bias, every column range adds)
                new Case(new ConvCfg(2, 16, 15, 15, 32, new Window2d(3, 3, 2, 2, 2, 2, 2, 2, 2, 2), 1), "fdw", false),
                new Case(new ConvCfg(2, 16, 12, 3, 16, new Window2d(3, 3, 2, 2, 2, 2, 2, 2, 1, 1), 1), "f", false),
                // stride 2 across only: the backward-filter's rows move by 1 image row down (and
                // by 3, a 5x5 window with padding 2), its first and last rows with taps in the
                // padding, the rows between stepped from the row before
                new Case(new ConvCfg(2, 16, 11, 20, 32, new Window2d(3, 3, 1, 2, 1, 1, 1, 1, 1, 1), 1), "fdw", false),
                new Case(new ConvCfg(3, 16, 23, 19, 32, new Window2d(5, 5, 3, 2, 2, 2, 2, 2, 1, 1), 1), "fdw", false),
                // pixels in the vectors: rows of 31 (a short last vector), 30, 29 and 28 pixels;
                // 16, 12 and 6 output channels, 12 input channels for the stride-1 input gradient
                new Case(new ConvCfg(1, 16, 40, 62, 16, s2, 1), "fdw", false),
                new Case(new ConvCfg(2, 5, 20, 30, 12, Window2d.square(3, 1, 1), 1), "fw", false),
                new Case(new ConvCfg(2, 12, 9, 29, 16, new Window2d(3, 5, 1, 1, 1, 1, 2, 2, 1, 1), 1), "fdw", false),
                new Case(new ConvCfg(2, 1, 28, 28, 6, Window2d.square(5, 1, 2), 1), "fw", false),  // LeNet-5's conv1
                // pixel-vector backward-filter through groups of up to 9 images (one plane packed
                // after another in a thread's buffer): rows of 30 (a short last vector), input rows
                // below the last output row's window, a stride of 2 down
                new Case(new ConvCfg(40, 3, 13, 30, 16, Window2d.square(3, 1, 1), 1), "fw", false),
                new Case(new ConvCfg(30, 2, 16, 17, 8, Window2d.square(5, 1, 0), 1), "fw", false),
                new Case(new ConvCfg(24, 3, 17, 28, 16, new Window2d(3, 3, 2, 1, 1, 1, 1, 1, 1, 1), 1), "fw", false),
                // a forward pass of 27 (channel, tap) pairs: pixels in the vectors for 40 output channels
                new Case(new ConvCfg(2, 3, 30, 30, 40, Window2d.square(3, 1, 1), 1), "fw", false),
                // forward without padding, stride 1 across, read in place: stride 2 down and
                // dilation 2 across, rows of 37 pixels (register blocks of 14, 14, 8 and 1: the
                // last two narrowed so that nothing past a row is read), 24 output channels;
                // padding only at the bottom and right (a plane again)
                new Case(new ConvCfg(2, 8, 13, 41, 24, new Window2d(3, 3, 2, 1, 0, 0, 0, 0, 1, 2), 1), "fw", false),
                new Case(new ConvCfg(2, 7, 11, 11, 16, new Window2d(3, 3, 1, 1, 0, 1, 0, 1, 1, 1), 1), "fw", false),
                new Case(new ConvCfg(2, 16, 9, 9, 32, Window2d.square(3, 1, 1), 1), "fdw", true));
    }

    static Stream<Arguments> cases() {
        return onEveryIsa(shapes());
    }

    @ParameterizedTest(name = "[{index}] {0} {1}")
    @MethodSource("cases")
    void matchesTheReferenceOnEveryThreadCount(String isa, Case c) {
        double[][] blocked = checkConvAlgorithm(isa, c.cfg(), 11, "direct", c.passes(), "the blocked kernels");
        if (!c.winograd()) {
            NativeCpuBackend.setIsa(isa);
            double[][] auto = FloatDoubleParityTest.runConv(natives[1], DType.FLOAT32, c.cfg(), 11);
            for (int i = 0; i < CONV_OUTPUTS.length; i++) {
                assertArrayEquals(blocked[i], auto[i], isa + " " + c.cfg() + " " + CONV_OUTPUTS[i]
                        + ": auto did not take the blocked kernels");
            }
        }
    }
}
