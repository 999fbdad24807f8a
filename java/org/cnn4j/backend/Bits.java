package org.cnn4j.backend;

/**
 * Branch-free selections for the pure-Java kernels, in float and double overloads (the
 * generated double kernels resolve to the double ones). A data-dependent branch such as
 * {@code x > 0 ? dy : 0} mispredicts half the time on real activations and is not vectorised
 * by HotSpot; these integer-mask forms are.
 */
final class Bits {
    private Bits() {
    }

    /** v where x > 0 (NaN and both zeros excluded), else +0. */
    static float wherePositive(float x, float v) {
        int b = Float.floatToRawIntBits(x);
        int drop = ((b - 1) | (0x7F800000 - b)) >> 31;
        return Float.intBitsToFloat(Float.floatToRawIntBits(v) & ~drop);
    }

    static double wherePositive(double x, double v) {
        long b = Double.doubleToRawLongBits(x);
        long drop = ((b - 1) | (0x7FF0000000000000L - b)) >> 63;
        return Double.longBitsToDouble(Double.doubleToRawLongBits(v) & ~drop);
    }

    /**
     * A uniform 24-bit value in [0, 2^24) for element i of a dropout mask with this seed:
     * splitmix64 of seed + (i + 1) * golden ratio, top 24 bits. The native kernels compute the
     * same function, so a seeded mask is identical on every backend.
     */
    public static long dropHash(long seed, long i) {
        long z = seed + (i + 1) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        return z >>> 40;
    }

    /** Hash values below this are dropped: round(p * 2^24). */
    public static long dropThreshold(double p) {
        return Math.round(p * 16777216.0);
    }
}
