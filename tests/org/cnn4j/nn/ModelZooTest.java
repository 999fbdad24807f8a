package org.cnn4j.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.cnn4j.backend.JavaBackend;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The zoo's architectures (SPEC S7): parameter counts equal the reference definitions
 * (torchvision's {@code sum(p.numel() for p in model.parameters())} for the ImageNet models;
 * for the CIFAR ResNets the exact count of He et al.'s option-A design, which the paper
 * rounds to 0.27M, 0.46M and 0.85M), and AlexNet's stage shapes are the seed's (S7.2).
 */
class ModelZooTest {

    static Stream<Arguments> counts() {
        return Stream.of(
                Arguments.of("lenet5", 61_706L),
                Arguments.of("alexnet", 61_100_840L),
                Arguments.of("alexnet-2group", 60_965_224L),
                Arguments.of("vgg11", 132_863_336L),
                Arguments.of("vgg11-bn", 132_868_840L),
                Arguments.of("vgg11-plain", 132_863_336L),
                Arguments.of("vgg13", 133_047_848L),
                Arguments.of("vgg13-bn", 133_053_736L),
                Arguments.of("vgg16", 138_357_544L),
                Arguments.of("vgg16-bn", 138_365_992L),
                Arguments.of("vgg19", 143_667_240L),
                Arguments.of("vgg19-bn", 143_678_248L),
                Arguments.of("resnet18", 11_689_512L),
                Arguments.of("resnet34", 21_797_672L),
                Arguments.of("resnet50", 25_557_032L),
                Arguments.of("resnet20", 269_722L),
                Arguments.of("resnet32", 464_154L),
                Arguments.of("resnet56", 853_018L));
    }

    @ParameterizedTest(name = "[{index}] {0}: {1}")
    @MethodSource("counts")
    void parameterCount(String name, long expected) {
        try (Sequential m = Models.create(name)) {
            assertEquals(expected, m.parameterCount(), name);
        }
    }

    @Test
    void everyZooModelIsCounted() {
        List<String> counted = new ArrayList<>();
        counts().forEach(a -> counted.add((String) a.get()[0]));
        counted.add("lenet5-32x32x3");
        assertEquals(Models.names().stream().sorted().toList(), counted.stream().sorted().toList());
    }

    @Test
    void cifarResNetsMatchThePapersRoundedCounts() {
        assertEquals(0.27, Math.round(Models.create("resnet20").parameterCount() / 1e4) / 100.0);
        assertEquals(0.46, Math.round(Models.create("resnet32").parameterCount() / 1e4) / 100.0);
        assertEquals(0.85, Math.round(Models.create("resnet56").parameterCount() / 1e4) / 100.0);
    }

    /** SPEC S7.2: 227 -> 55 -> 27 -> 27 -> 13 -> 13 -> 13 -> 13 -> 6, with two filter groups. */
    @Test
    void alexNetStageShapes() {
        Sequential m = Models.create("alexnet-2group");
        Map<Integer, Shape> stages = Map.of(
                0, Shape.of(96, 55, 55), 2, Shape.of(96, 27, 27),
                3, Shape.of(256, 27, 27), 5, Shape.of(256, 13, 13),
                6, Shape.of(384, 13, 13), 8, Shape.of(384, 13, 13),
                10, Shape.of(256, 13, 13), 12, Shape.of(256, 6, 6),
                13, Shape.of(9216));
        stages.forEach((i, s) -> assertEquals(s, m.layers().get(i).outputShape(), "layer " + i));
        assertEquals(2, ((Conv2d) m.layers().get(3)).config().get("groups"));
        assertEquals(Shape.of(1000), m.outputShape());
    }

    @Test
    void modelsTakeOtherInputsAndClassCounts() {
        try (Sequential r = Models.create("resnet20", Shape.of(1, 28, 28), 10)) {
            assertEquals(Shape.of(10), r.outputShape());
            // only the stem's input channels change: 3*16*9 -> 1*16*9 weights
            assertEquals(269_722 - 2 * 16 * 9, r.parameterCount());
        }
        try (Sequential v = Models.create("vgg11-bn", Shape.of(3, 32, 32), 10)) {
            assertEquals(Shape.of(10), v.outputShape());
        }
        // the race's plain network: no dropout (so its steps can be recorded), the same weights as vgg11
        try (Sequential p = Models.create("vgg11-plain", Shape.of(3, 32, 32), 10);
             Sequential v = Models.create("vgg11", Shape.of(3, 32, 32), 10)) {
            assertTrue(p.replayable());
            assertFalse(v.replayable());
            assertEquals(v.parameterCount(), p.parameterCount());
            assertTrue(p.layers().stream().noneMatch(l -> l instanceof Dropout));
        }
        assertThrows(IllegalArgumentException.class, () -> Models.create("resnet21"));
        assertThrows(IllegalArgumentException.class, () -> Models.create("resnet20", Shape.of(3, 32, 32), 1));
    }

    /** A residual network runs forward and backward, and its architecture round-trips through the saved form. */
    @Test
    void resnetTrainsAStepAndRoundTrips() {
        try (JavaBackend be = new JavaBackend(2);
             Sequential m = Models.create("resnet20", Shape.of(3, 16, 16), 4).initialize(be, 5);
             Tensor x = be.zeros(Shape.of(2, 3, 16, 16));
             Tensor dy = be.zeros(Shape.of(2, 4))) {
            be.fill(x, 0.5);
            be.fill(dy, 1);
            assertEquals(Shape.of(2, 4), m.forward(x, true).shape());
            assertEquals(Shape.of(2, 3, 16, 16), m.backward(dy).shape(), "input gradient (on by default)");
            Sequential back = Layers.sequentialFromArchitecture(m.architecture());
            assertEquals(m.parameterCount(), back.parameterCount());
            assertEquals(m.architecture(), back.architecture());
            back.initialize(be, DType.FLOAT32, 1);
            assertEquals(m.stateDict().keySet(), back.stateDict().keySet());
            assertTrue(m.stateDict().containsKey("1.running_mean"));
            assertTrue(m.stateDict().containsKey("3.body.1.running_var"));
            back.close();
        }
    }

    /** Folding batch norm into the convolutions changes nothing in evaluation mode, on both backends. */
    @Test
    void foldingBatchNormKeepsEvaluationOutputs() {
        for (org.cnn4j.backend.Backend be : backends()) {
            try (be;
                 Sequential m = Models.create("resnet20", Shape.of(3, 12, 12), 5).initialize(be, 3);
                 Tensor x = be.zeros(Shape.of(3, 3, 12, 12))) {
                java.util.SplittableRandom rng = new java.util.SplittableRandom(4);
                float[] xs = new float[x.numel()];
                for (int i = 0; i < xs.length; i++) {
                    xs[i] = (float) rng.nextGaussian();
                }
                x.copyFrom(xs);
                // a few training steps give the running statistics non-trivial values
                for (int i = 0; i < 3; i++) {
                    m.forward(x, true);
                }
                double[] want = m.forward(x, false).toDoubleArray();
                try (Sequential f = BatchNormFolding.fold(m)) {
                    double[] got = f.forward(x, false).toDoubleArray();
                    double worst = 0;
                    for (int i = 0; i < want.length; i++) {
                        worst = Math.max(worst, Math.abs(want[i] - got[i]));
                    }
                    assertTrue(worst < 1e-4, be.name() + ": folded output differs by " + worst);
                    assertTrue(f.layers().size() < m.layers().size());
                    assertTrue(f.layers().stream().noneMatch(l -> l instanceof BatchNorm2d));
                }
            }
        }
    }

    private static List<org.cnn4j.backend.Backend> backends() {
        List<org.cnn4j.backend.Backend> b = new ArrayList<>();
        b.add(new JavaBackend(2));
        if (org.cnn4j.NativeExpectation.expected()) {
            b.add(org.cnn4j.backend.NativeCpuBackend.create(2));
        }
        return b;
    }
}
