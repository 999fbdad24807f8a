package org.cnn4j.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.cnn4j.tensor.Window2d;
import org.junit.jupiter.api.Test;

/**
 * The native CPU backend's context owns the scratch memory of its convolutions and matrix
 * products: sized inside each call, kept for the next one of the same shape, and gone with
 * the backend, whose ops that need it then refuse to run.
 */
class NativeContextTest {

    @Test
    void scratchMemoryIsKeptBetweenCallsAndFreedWithTheBackend() {
        NativeCpuBackend b = NativeCpuBackend.create(2);
        Tensor x = b.zeros(Shape.of(4, 16, 12, 12));
        Tensor w = b.zeros(Shape.of(24, 16, 3, 3));
        Tensor y = b.zeros(Shape.of(4, 24, 12, 12));
        Window2d same = Window2d.square(3, 1, 1);
        assertEquals(0, b.workspaceBytes(), "a fresh context holds no scratch memory");
        b.conv2dForward(x, w, null, y, same, 1);
        long first = b.workspaceBytes();
        assertTrue(first > 0, "the convolution's scratch memory stays with the context");
        b.conv2dForward(x, w, null, y, same, 1);
        assertEquals(first, b.workspaceBytes(), "the same shape again needs no new memory");
        b.conv2dBackwardData(y, w, x, same, 1);
        long most = b.workspaceBytes();
        assertTrue(most >= first, "the context grows for a pass that needs more, never shrinks");
        b.conv2dForward(x, w, null, y, same, 1);
        assertEquals(most, b.workspaceBytes(), "a pass that needs less runs in what the context holds");
        Tensor a = b.zeros(Shape.of(64, 300));
        Tensor m = b.zeros(Shape.of(300, 200));
        Tensor c = b.zeros(Shape.of(64, 200));
        b.matmul(a, false, m, false, c, false);
        assertTrue(b.workspaceBytes() >= most, "a matrix product reuses or grows the same scratch memory");
        for (Tensor t : new Tensor[] {x, w, y, a, m, c}) {
            t.close();
        }
        b.close();
        b.close();  // idempotent
        IllegalStateException e = assertThrows(IllegalStateException.class, b::workspaceBytes);
        assertTrue(e.getMessage().contains("used after close()"), e.getMessage());
    }
}
