package org.cnn4j.nn;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.cnn4j.backend.JavaBackend;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * Layers that do not fit together are rejected when the model is built (SPEC S1.2, S1.9,
 * S4.1), with a {@link ShapeException} whose message names the layer (by its index in the
 * model, as in {@code "2 (Conv2d): ..."}) and the shapes involved.
 */
class ShapeErrorTest {

    private static ShapeException buildFails(Shape input, Layer... layers) {
        return assertThrows(ShapeException.class, () -> new Sequential(input, layers));
    }

    private static void assertMentions(ShapeException e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "message should mention '" + p + "': " + e.getMessage());
        }
    }

    /** Sizes never wrap around: 65536^4 = 2^64 is 0 in a long, and once reached native code as 0. */
    @Test
    void elementCountsThatOverflowAreRejected() {
        for (Shape s : new Shape[] {Shape.of(65536, 65536, 65536, 65536), Shape.of(65536, 65536),
                Shape.of(3, 1 << 30), Shape.of(1 << 16, 1 << 15, 1, 1)}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, s::numel, s.toString());
            assertTrue(e.getMessage().contains(s.toString()) && e.getMessage().contains("more than"), e.getMessage());
        }
        org.junit.jupiter.api.Assertions.assertEquals(Integer.MAX_VALUE, Shape.of(Integer.MAX_VALUE, 1).numel());
        org.junit.jupiter.api.Assertions.assertEquals(0, Shape.of(0, 65536, 65536, 65536).numel());
    }

    /** Window arithmetic never wraps around: a dilated extent or a padded size past 2^31 - 1 is refused. */
    @Test
    void windowSizesThatOverflowAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Sequential(Shape.of(1, 28, 28), new Conv2d(2, 3).dilation(1 << 30, 1 << 30)));
        assertTrue(e.getMessage().contains("more than 2^31 - 1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Sequential(Shape.of(1, 28, 28),
                new Conv2d(2, 3).padding(1 << 30, 1 << 30, 1 << 30, 1 << 30)));
        assertTrue(e.getMessage().contains("more than 2^31 - 1"), e.getMessage());
    }

    @Test
    void linearAfterConvWithoutFlatten() {
        // 1x28x28 -> conv 5x5 -> 6x24x24 -> ReLU -> Linear: needs a Flatten
        ShapeException e = buildFails(Shape.of(1, 28, 28), new Conv2d(6, 5), new ReLU(), new Linear(10));
        assertTrue(e.getMessage().startsWith("2 (Linear)"), e.getMessage());
        assertMentions(e, "6x24x24", "Flatten");
    }

    @Test
    void linearDeclaredInputFeaturesMismatch() {
        ShapeException e = buildFails(Shape.of(2, 5, 5), new Flatten(), new Linear(10).inFeatures(49));
        assertTrue(e.getMessage().startsWith("1 (Linear)"), e.getMessage());
        assertMentions(e, "49", "50");
    }

    @Test
    void convDeclaredInChannelsMismatch() {
        // the second convolution declares 3 input channels but receives the first one's 6
        ShapeException e = buildFails(Shape.of(1, 28, 28), new Conv2d(6, 5).inChannels(1), new ReLU(),
                new Conv2d(16, 5).inChannels(3));
        assertTrue(e.getMessage().startsWith("2 (Conv2d)"), e.getMessage());
        assertMentions(e, "3", "6x24x24");
    }

    @Test
    void groupsNotDividingChannels() {
        // 3 input channels in 2 groups
        ShapeException in = buildFails(Shape.of(1, 8, 8), new Conv2d(3, 3).padding(1), new ReLU(),
                new Conv2d(4, 3).groups(2));
        assertTrue(in.getMessage().startsWith("2 (Conv2d)"), in.getMessage());
        assertMentions(in, "groups=2", "3x8x8");
        // 4 input channels in 2 groups, but 5 output channels
        ShapeException out = buildFails(Shape.of(4, 8, 8), new Conv2d(5, 3).groups(2));
        assertTrue(out.getMessage().startsWith("0 (Conv2d)"), out.getMessage());
        assertMentions(out, "groups=2", "5", "4x8x8");
    }

    @Test
    void kernelLargerThanPaddedInput() {
        // 1x8x8 -> conv 3x3 -> 4x6x6 -> pool 2 -> 4x3x3; a 5x5 kernel with pad 0 does not fit 3x3
        ShapeException e = buildFails(Shape.of(1, 8, 8), new Conv2d(4, 3), new MaxPool2d(2), new Conv2d(8, 5));
        assertTrue(e.getMessage().startsWith("2 (Conv2d)"), e.getMessage());
        assertMentions(e, "5x5", "4x3x3");
        // padding 1 makes the input 5x5: it fits
        new Sequential(Shape.of(1, 8, 8), new Conv2d(4, 3), new MaxPool2d(2), new Conv2d(8, 5).padding(1));
        // with dilation 2 a 3x3 kernel spans 5x5: does not fit 4x4
        ShapeException dil = buildFails(Shape.of(2, 4, 4), new Conv2d(2, 3).dilation(2));
        assertTrue(dil.getMessage().startsWith("0 (Conv2d)"), dil.getMessage());
        assertMentions(dil, "5x5", "2x4x4");
    }

    @Test
    void poolWindowLargerThanInput() {
        ShapeException e = buildFails(Shape.of(1, 6, 6), new Conv2d(2, 5), new MaxPool2d(3));
        assertTrue(e.getMessage().startsWith("1 (MaxPool2d)"), e.getMessage());
        assertMentions(e, "2x2x2");
    }

    @Test
    void convOnFlatInput() {
        ShapeException e = buildFails(Shape.of(3, 8, 8), new Flatten(), new Conv2d(2, 3));
        assertTrue(e.getMessage().startsWith("1 (Conv2d)"), e.getMessage());
        assertMentions(e, "192");
    }

    /** A batch of the wrong shape is rejected at forward time, naming both shapes. */
    @Test
    void wrongInputAtForward() {
        try (JavaBackend be = new JavaBackend(1);
             Sequential m = new Sequential(Shape.of(1, 8, 8), new Conv2d(2, 3)).initialize(be, DType.FLOAT32, 1);
             Tensor x = be.zeros(Shape.of(2, 1, 8, 9))) {
            ShapeException e = assertThrows(ShapeException.class, () -> m.forward(x, false));
            assertMentions(e, "[2, 1, 8, 9]", "[N, 1, 8, 8]");
        }
    }
}
