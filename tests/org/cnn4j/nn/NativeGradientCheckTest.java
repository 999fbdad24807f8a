package org.cnn4j.nn;

import org.cnn4j.NativeExpectation;
import org.cnn4j.backend.Backend;
import org.cnn4j.backend.NativeCpuBackend;

/** Every gradient check of {@link GradientCheckTest}, through the native CPU backend (FLOAT64 kernels). */
class NativeGradientCheckTest extends GradientCheckTest {
    @Override
    protected Backend newBackend(int threads) {
        return NativeCpuBackend.isAvailable() ? NativeCpuBackend.create(threads) : null;
    }

    @Override
    protected void requireBackend() {
        NativeExpectation.requireNative();
    }
}
