package org.cnn4j.nn;

import org.cnn4j.NativeExpectation;
import org.cnn4j.backend.Backend;
import org.cnn4j.backend.CudaBackend;

/**
 * Every gradient check of {@link GradientCheckTest}, through the CUDA backend (FLOAT64
 * kernels); each test is skipped, with the reason, where no GPU can be used.
 */
class CudaGradientCheckTest extends GradientCheckTest {
    @Override
    protected Backend newBackend(int threads) {
        return CudaBackend.isAvailable() ? CudaBackend.create(0) : null;
    }

    @Override
    protected void requireBackend() {
        NativeExpectation.requireGpu();
    }
}
