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
}
