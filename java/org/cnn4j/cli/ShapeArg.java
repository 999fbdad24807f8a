package org.cnn4j.cli;

import java.util.Locale;

/** Parses size options such as {@code --input 3x32x32} and {@code --image-size 64x64}. */
final class ShapeArg {
    private ShapeArg() {
    }

    /** Exactly {@code count} positive integers separated by 'x', or a usage error naming the option. */
    static int[] parse(String text, int count, String option, String example) {
        String[] parts = text.toLowerCase(Locale.ROOT).split("x", -1);
        int[] d = new int[parts.length];
        try {
            for (int i = 0; i < parts.length; i++) {
                d[i] = Integer.parseInt(parts[i].trim());
            }
        } catch (NumberFormatException e) {
            d = null;
        }
        if (d == null || d.length != count || java.util.Arrays.stream(d).anyMatch(v -> v < 1)) {
            throw new IllegalArgumentException(option + " must be " + count + " positive sizes separated by 'x', e.g. "
                    + example + ", got '" + text + "'");
        }
        return d;
    }
}
