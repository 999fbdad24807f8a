package org.cnn4j;

import org.cnn4j.backend.NativeCpuBackend;
import org.junit.jupiter.api.Assumptions;

/**
 * Whether this test run must have the native CPU library. The build sets the system
 * property {@code cnn4j.expectNative}: {@code true} in the default (native) flavour, where a
 * library that fails to load fails the run, and {@code false} in the JNI-free flavour.
 * Run outside Maven without the property, the tests follow what loads.
 */
public final class NativeExpectation {
    private NativeExpectation() {
    }

    public static boolean expected() {
        String p = System.getProperty("cnn4j.expectNative");
        if (p == null || p.isBlank() || p.startsWith("${")) {
            return NativeCpuBackend.isAvailable();
        }
        return Boolean.parseBoolean(p);
    }

    /**
     * For tests of the native backend: loads the library, failing when it is expected and does
     * not load, and skipping (reported as skipped, with the reason) in the JNI-free flavour.
     */
    public static void requireNative() {
        if (expected()) {
            NativeCpuBackend.ensureLoaded(); // throws, failing the test, if the library does not load
        } else {
            Assumptions.abort("JNI-free build: the native CPU backend is checked to be absent in NativeAvailabilityTest");
        }
    }

    /**
     * For GPU tests: with {@code -Dcnn4j.expectGpu=true} (set on the GPU machine) a GPU that
     * cannot be used fails the test; otherwise the test is skipped, and says why.
     */
    public static void requireGpu() {
        requireNative();
        boolean expected = Boolean.parseBoolean(System.getProperty("cnn4j.expectGpu", "false"));
        try {
            org.cnn4j.backend.CudaBackend.create(0).close();
        } catch (org.cnn4j.backend.BackendUnavailableException e) {
            if (expected) {
                throw e;
            }
            Assumptions.abort("no usable GPU here (" + e.getMessage() + "); -Dcnn4j.expectGpu=true makes this a failure");
        }
    }
}
