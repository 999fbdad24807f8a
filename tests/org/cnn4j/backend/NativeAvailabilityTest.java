package org.cnn4j.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.cnn4j.NativeExpectation;
import org.junit.jupiter.api.Test;

/**
 * The build flavour is what it claims: in the native build the library loads (a load failure
 * fails the run, no silent fallback) and {@code auto} picks it; in the JNI-free build there is
 * no native code on the class path, {@code cpu} is an error naming the reason and {@code auto}
 * says why it chose Java.
 */
class NativeAvailabilityTest {
    private static final String LIB = "/org/cnn4j/nativelib/linux-x86_64/libcnn4j.so";

    @Test
    void flavourMatchesTheBuild() {
        if (NativeExpectation.expected()) {
            NativeCpuBackend.ensureLoaded();
            assertTrue(NativeCpuBackend.class.getResource(LIB) != null, "the jar carries " + LIB);
            try (Backend b = Backends.create("cpu", 2).backend()) {
                assertEquals("cpu", b.name());
                assertTrue(b.description().contains(NativeCpuBackend.isa()), b.description());
            }
            Backends.Choice auto = Backends.create("auto", 2);
            try (Backend b = auto.backend()) {
                assertEquals("cpu", b.name(), auto.reason());
            }
        } else {
            assertNull(NativeCpuBackend.class.getResource(LIB), "a JNI-free build carries no native library");
            BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
                    () -> Backends.create("cpu", 2));
            assertTrue(e.getMessage().contains("not available") && e.getMessage().contains("carries no native library"),
                    e.getMessage());
            assertTrue(!e.getMessage().contains("java.library.path") && e.getMessage().lines().count() == 1,
                    "one line, no library path: " + e.getMessage());
            Backends.Choice auto = Backends.create("auto", 2);
            try (Backend b = auto.backend()) {
                assertEquals("java", b.name());
                assertTrue(auto.reason().contains("not available"), auto.reason());
                assertTrue(!auto.reason().contains("java.library.path"), auto.reason());
            }
        }
    }

    /** The API's default selection honours -Dcnn4j.backend (as the command line does), and names a bad value. */
    @Test
    void theConfiguredBackendIsHonouredByAuto() {
        String before = System.getProperty("cnn4j.backend");
        try {
            System.setProperty("cnn4j.backend", "java");
            Backends.Choice c = Backends.create();
            try (Backend b = c.backend()) {
                assertEquals("java", b.name());
                assertEquals("set by -Dcnn4j.backend=java", c.reason());
            }
            System.setProperty("cnn4j.backend", "tpu");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.create("auto", 1));
            assertTrue(e.getMessage().contains("-Dcnn4j.backend names an unknown backend 'tpu'"), e.getMessage());
            try (Backend b = Backends.create("java", 1).backend()) {
                assertEquals("java", b.name(), "a backend asked for by name is not overridden");
            }
        } finally {
            if (before == null) {
                System.clearProperty("cnn4j.backend");
            } else {
                System.setProperty("cnn4j.backend", before);
            }
        }
    }

    @Test
    void unsupportedInstructionSetIsAnError() {
        NativeExpectation.requireNative();
        assertThrows(IllegalArgumentException.class, () -> NativeCpuBackend.setIsa("sse9"));
    }

    @Test
    void closedTensorsAndViewsAreRefused() {
        NativeExpectation.requireNative();
        try (NativeCpuBackend b = NativeCpuBackend.create(1)) {
            var t = b.zeros(org.cnn4j.tensor.Shape.of(2, 3));
            var v = t.reshape(org.cnn4j.tensor.Shape.of(6));
            t.close();
            assertThrows(IllegalStateException.class, t::toFloatArray);
            assertThrows(IllegalStateException.class, v::toFloatArray);
        }
    }
}
