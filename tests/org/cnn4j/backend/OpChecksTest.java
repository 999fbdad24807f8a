package org.cnn4j.backend;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.cnn4j.NativeExpectation;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** A setting an op refuses is refused by every backend, with the same message (one check, shared). */
class OpChecksTest {

    private static List<Backend> backends() {
        List<Backend> bs = new ArrayList<>();
        bs.add(new JavaBackend(1));
        if (NativeExpectation.expected()) {
            bs.add(NativeCpuBackend.create(1));
            if (CudaBackend.isAvailable()) {
                bs.add(CudaBackend.create(0));
            }
        }
        return bs;
    }

    @Test
    void batchNormSettingsAreCheckedTheSameEverywhere() {
        for (Backend b : backends()) {
            try (b; Tensor x = b.zeros(Shape.of(2, 3, 2, 2)); Tensor y = b.zeros(Shape.of(2, 3, 2, 2));
                 Tensor g = b.zeros(Shape.of(3)); Tensor be = b.zeros(Shape.of(3)); Tensor rm = b.zeros(Shape.of(3));
                 Tensor rv = b.zeros(Shape.of(3)); Tensor sm = b.zeros(Shape.of(3)); Tensor si = b.zeros(Shape.of(3))) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> b.batchNormForward(x, g, be, rm, rv, y, sm, si, true, 0.1, 0));
                assertTrue(e.getMessage().contains("eps must be > 0, got 0.0"), b.name() + ": " + e.getMessage());
                e = assertThrows(IllegalArgumentException.class,
                        () -> b.batchNormForward(x, g, be, rm, rv, y, sm, si, true, 1.5, 1e-5));
                assertTrue(e.getMessage().contains("momentum must be in [0, 1], got 1.5"), b.name() + ": " + e.getMessage());
                b.batchNormForward(x, g, be, rm, rv, y, sm, si, true, 0.1, 1e-5);  // valid settings pass
                // the fused ReLU's output must have x's shape
                try (Tensor small = b.zeros(Shape.of(2, 3, 2, 1))) {
                    e = assertThrows(IllegalArgumentException.class,
                            () -> b.batchNormBackward(x, y, g, sm, si, null, rm, rv, true, small));
                    assertTrue(e.getMessage().contains("reluY"), b.name() + ": " + e.getMessage());
                }
            }
        }
    }
}
