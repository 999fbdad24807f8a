package org.cnn4j.backend;

import java.util.Locale;

/**
 * How float32 convolutions and matmuls multiply on the GPU. {@link #FP32} (the default) uses
 * FP32 fused multiply-adds, the arithmetic of the CPU backends; {@link #TF32} uses the tensor
 * cores, rounding inputs to TF32 (10-bit mantissa) and summing in FP32, as PyTorch does for
 * convolutions by default. The CPU backends always compute in FP32.
 */
public enum Precision {
    FP32, TF32;

    /** Parses {@code fp32} or {@code tf32}, naming the accepted values otherwise. */
    public static Precision parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown precision '" + s + "' (expected fp32 or tf32)");
        }
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
