package org.cnn4j.tensor;

/**
 * The geometry of a sliding 2-D window (a convolution kernel or a pooling window): kernel
 * size, stride, padding per side and dilation. This is the one place where output sizes
 * are computed (SPEC S1.3, S1.8, S2.2): shape inference, summaries and every backend use it.
 *
 * <p>Output size per dimension: {@code floor((N + padBefore + padAfter - E) / S) + 1}, where
 * {@code E = D * (F - 1) + 1} is the dilated extent of the window (E = F when D = 1). Sizes
 * floor as in PyTorch; {@link #unusedRows}/{@link #unusedCols} tell how many trailing input
 * rows/columns no window touches (SPEC S1.6).
 */
public record Window2d(int kernelH, int kernelW, int strideH, int strideW,
                       int padTop, int padBottom, int padLeft, int padRight,
                       int dilationH, int dilationW) {

    public Window2d {
        if (kernelH < 1 || kernelW < 1) {
            throw new IllegalArgumentException("kernel size must be >= 1, got " + kernelH + "x" + kernelW);
        }
        if (strideH < 1 || strideW < 1) {
            throw new IllegalArgumentException("stride must be >= 1, got " + strideH + "x" + strideW);
        }
        if (padTop < 0 || padBottom < 0 || padLeft < 0 || padRight < 0) {
            throw new IllegalArgumentException("padding must be >= 0, got top=" + padTop + " bottom=" + padBottom
                    + " left=" + padLeft + " right=" + padRight);
        }
        if (dilationH < 1 || dilationW < 1) {
            throw new IllegalArgumentException("dilation must be >= 1, got " + dilationH + "x" + dilationW);
        }
    }

    /** Square kernel, equal stride, the same padding on every side, no dilation. */
    public static Window2d square(int kernel, int stride, int padding) {
        return new Window2d(kernel, kernel, stride, stride, padding, padding, padding, padding, 1, 1);
    }

    /**
     * Dilated extent of a window: {@code D * (F - 1) + 1}; sizes that do not fit an int are
     * refused rather than wrapped around.
     */
    public static int extent(int kernel, int dilation) {
        long e = (long) dilation * (kernel - 1) + 1;
        if (e > Integer.MAX_VALUE || e < Integer.MIN_VALUE) {
            throw new IllegalArgumentException("a window of " + kernel + " with dilation " + dilation
                    + " spans more than 2^31 - 1 positions");
        }
        return (int) e;
    }

    /**
     * Output size of one dimension, or a negative number when the window does not fit
     * even once. Computed in 64 bits: no padding or kernel wraps around to a plausible size.
     */
    public static int outputSize(int in, int padBefore, int padAfter, int kernel, int stride, int dilation) {
        long span = (long) in + padBefore + padAfter - extent(kernel, dilation);
        if (span >= Integer.MAX_VALUE) {
            throw new IllegalArgumentException("an input of " + in + " padded by " + padBefore + " and " + padAfter
                    + " is more than 2^31 - 1 positions");
        }
        return span < 0 ? -1 : (int) (span / stride + 1);
    }

    public int extentH() {
        return extent(kernelH, dilationH);
    }

    public int extentW() {
        return extent(kernelW, dilationW);
    }

    public int outH(int h) {
        return outputSize(h, padTop, padBottom, kernelH, strideH, dilationH);
    }

    public int outW(int w) {
        return outputSize(w, padLeft, padRight, kernelW, strideW, dilationW);
    }

    /**
     * Trailing input rows that no window covers because the stride does not divide the span
     * (uncovered bottom padding does not count: it holds no input).
     */
    public int unusedRows(int h) {
        int span = h + padTop + padBottom - extentH();
        return span < 0 ? 0 : Math.max(0, span % strideH - padBottom);
    }

    public int unusedCols(int w) {
        int span = w + padLeft + padRight - extentW();
        return span < 0 ? 0 : Math.max(0, span % strideW - padRight);
    }

    /** Throws with a message naming the input size when the window does not fit. */
    public void checkFits(int h, int w, String what) {
        if (outH(h) < 1 || outW(w) < 1) {
            throw new IllegalArgumentException(what + ": a " + extentH() + "x" + extentW()
                    + " window (kernel " + kernelH + "x" + kernelW + ", dilation " + dilationH + "x" + dilationW
                    + ") does not fit a " + h + "x" + w + " input padded by top=" + padTop + " bottom=" + padBottom
                    + " left=" + padLeft + " right=" + padRight);
        }
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        sb.append("k=").append(kernelH).append('x').append(kernelW);
        sb.append(" s=").append(strideH).append('x').append(strideW);
        if (padTop == padBottom && padLeft == padRight && padTop == padLeft) {
            sb.append(" p=").append(padTop);
        } else {
            sb.append(" p=").append(padTop).append(',').append(padBottom).append(',').append(padLeft)
                    .append(',').append(padRight);
        }
        if (dilationH != 1 || dilationW != 1) {
            sb.append(" d=").append(dilationH).append('x').append(dilationW);
        }
        return sb.toString();
    }
}
