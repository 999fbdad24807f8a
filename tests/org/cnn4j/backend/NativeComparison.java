package org.cnn4j.backend;

import org.cnn4j.NativeExpectation;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

/**
 * The base of the tests that compare the native CPU backend with the pure-Java reference: one
 * reference backend and native backends on 1, 2 and 3 threads for the whole class. Afterwards
 * the process-wide settings the tests change (the instruction set and the convolution
 * algorithm) are back at their defaults.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class NativeComparison {
    protected JavaBackend ref;
    /** natives[t - 1] runs on t threads. */
    protected NativeCpuBackend[] natives;

    @BeforeAll
    void openBackends() {
        NativeExpectation.requireNative();
        ref = new JavaBackend(1);
        natives = new NativeCpuBackend[] {NativeCpuBackend.create(1), NativeCpuBackend.create(2),
            NativeCpuBackend.create(3)};
    }

    @AfterAll
    void closeBackends() {
        if (ref == null) {
            return;
        }
        ref.close();
        for (NativeCpuBackend b : natives) {
            b.close();
        }
        NativeCpuBackend.setIsa(NativeCpuBackend.supportedIsa());
        NativeCpuBackend.setConvAlgorithm("auto");
    }
}
