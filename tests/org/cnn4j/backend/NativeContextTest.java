package org.cnn4j.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.cnn4j.NativeExpectation;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.cnn4j.tensor.Window2d;
import org.junit.jupiter.api.Test;

/**
 * The native CPU backend's context owns the scratch memory of its convolutions and matrix
 * products: sized inside each call, kept for the next one, never shrunk, and freed with the
 * backend, whose ops then refuse to run; tensors that outlive the backend still free their
 * memory through its context.
 */
class NativeContextTest {

    @Test
    void scratchMemoryIsKeptBetweenCallsAndFreedWithTheBackend() {
        NativeExpectation.requireNative();
        NativeCpuBackend b = NativeCpuBackend.create(2);
        Tensor x = b.zeros(Shape.of(4, 16, 12, 12));
        Tensor w = b.zeros(Shape.of(24, 16, 3, 3));
        Tensor y = b.zeros(Shape.of(4, 24, 12, 12));
        Window2d same = Window2d.square(3, 1, 1);
        assertEquals(0, b.scratchBytes(), "a fresh context holds no scratch memory");
        b.conv2dForward(x, w, null, y, same, 1);
        long first = b.scratchBytes();
        assertTrue(first > 0, "the convolution's scratch memory stays with the context");
        b.conv2dForward(x, w, null, y, same, 1);
        assertEquals(first, b.scratchBytes(), "the same shape again needs no new memory");
        b.conv2dBackwardData(y, w, x, same, 1);
        long most = b.scratchBytes();
        assertTrue(most >= first, "the context grows for a pass that needs more, never shrinks");
        b.conv2dForward(x, w, null, y, same, 1);
        assertEquals(most, b.scratchBytes(), "a pass that needs less runs in what the context holds");
        Tensor a = b.zeros(Shape.of(64, 300));
        Tensor m = b.zeros(Shape.of(300, 200));
        Tensor c = b.zeros(Shape.of(64, 200));
        b.matmul(a, false, m, false, c, false);
        assertTrue(b.scratchBytes() >= most, "a matrix product reuses or grows the same scratch memory");
        for (Tensor t : new Tensor[] {x, w, y, a, m, c}) {
            t.close();
        }
        b.close();
        b.close();  // idempotent
        IllegalStateException e = assertThrows(IllegalStateException.class, b::scratchBytes);
        assertTrue(e.getMessage().contains("used after close()"), e.getMessage());
        e = assertThrows(IllegalStateException.class, () -> b.zeros(Shape.of(2)));
        assertTrue(e.getMessage().contains("native CPU backend was used after close()"), e.getMessage());
    }

    @Test
    void tensorsThatOutliveTheBackendStillReadAndFree() {
        NativeExpectation.requireNative();
        NativeCpuBackend b = NativeCpuBackend.create(1);
        Tensor x = b.zeros(Shape.of(3));
        Tensor y = b.zeros(Shape.of(3));
        x.copyFrom(new float[] {1, 2, 3});
        b.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> b.scale(x, 2));
        assertTrue(e.getMessage().contains("used after close()"), e.getMessage());
        assertArrayEquals(new float[] {1, 2, 3}, x.toFloatArray(), "a closed backend's tensor still reads");
        x.close();
        y.close();  // the last one frees the context
        assertThrows(IllegalStateException.class, x::toFloatArray);
    }
}
