package org.cnn4j.io;

/**
 * A bound on the nesting of JSON text, checked before a recursive parser sees it: a few
 * kilobytes of brackets would otherwise exhaust the stack.
 */
public final class JsonDepth {
    private JsonDepth() {
    }

    /** The deepest nesting of arrays and objects in {@code json} (brackets inside strings do not count). */
    public static int of(String json) {
        int depth = 0, max = 0;
        boolean inString = false;
        for (int i = 0; i < json.length(); i++) {
            char c = json.charAt(i);
            if (inString) {
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    inString = false;
                }
            } else if (c == '"') {
                inString = true;
            } else if (c == '[' || c == '{') {
                max = Math.max(max, ++depth);
            } else if (c == ']' || c == '}') {
                depth--;
            }
        }
        return max;
    }

    /** Throws {@code IllegalArgumentException} naming {@code what} when {@code json} nests deeper than {@code limit}. */
    public static void check(String json, int limit, String what) {
        int d = of(json);
        if (d > limit) {
            throw new IllegalArgumentException(what + " nests " + d + " levels deep; at most " + limit + " are read");
        }
    }
}
