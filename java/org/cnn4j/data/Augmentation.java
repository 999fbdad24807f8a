package org.cnn4j.data;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.cnn4j.tensor.Shape;

/**
 * Data augmentation (SPEC S6.3): random crops, flips and colour changes applied to each
 * training image on the loader's thread, before normalisation. Images are C x H x W floats in
 * [0, 1]; every transform keeps the size. Each image gets its own random stream, derived from
 * the loader's seed, the epoch and the image's position in the epoch, so a seeded run
 * augments identically however batches are prefetched.
 */
public final class Augmentation {
    private Augmentation() {
    }

    /** An image being augmented, with a scratch buffer of the same size. */
    public static final class Image {
        final int c, h, w;
        float[] data;
        float[] scratch;

        public Image(Shape shape) {
            this.c = shape.dim(0);
            this.h = shape.dim(1);
            this.w = shape.dim(2);
            this.data = new float[c * h * w];
            this.scratch = new float[c * h * w];
        }

        public float[] data() {
            return data;
        }

        void swap() {
            float[] t = data;
            data = scratch;
            scratch = t;
        }
    }

    /** One step of augmentation. */
    @FunctionalInterface
    public interface Transform {
        void apply(Image img, SplittableRandom rng);
    }

    /**
     * The standard augmentation of {@code --augment}: a random crop from the image padded with
     * zeros by H/8 on each side (4 pixels at 32x32, 3 at 28x28), then a horizontal flip with
     * probability 1/2; colour images also get a mild colour jitter (0.2 each).
     */
    public static List<Transform> standard(Shape sample) {
        List<Transform> t = new ArrayList<>();
        t.add(randomCrop(Math.max(1, sample.dim(1) / 8)));
        t.add(horizontalFlip(0.5));
        if (sample.dim(0) == 3) {
            t.add(colorJitter(0.2, 0.2, 0.2));
        }
        return t;
    }

    /** Pads every side with {@code padding} zeros and crops back to H x W at a random offset. */
    public static Transform randomCrop(int padding) {
        if (padding < 0) {
            throw new IllegalArgumentException("crop padding must be >= 0, got " + padding);
        }
        return (img, rng) -> {
            int dy = rng.nextInt(2 * padding + 1) - padding, dx = rng.nextInt(2 * padding + 1) - padding;
            shift(img, dy, dx);
        };
    }

    /** out(y, x) = in(y + dy, x + dx), zero outside. */
    static void shift(Image img, int dy, int dx) {
        int h = img.h, w = img.w;
        for (int ch = 0; ch < img.c; ch++) {
            int o = ch * h * w;
            for (int y = 0; y < h; y++) {
                int sy = y + dy;
                for (int x = 0; x < w; x++) {
                    int sx = x + dx;
                    img.scratch[o + y * w + x] = sy >= 0 && sy < h && sx >= 0 && sx < w ? img.data[o + sy * w + sx] : 0;
                }
            }
        }
        img.swap();
    }

    /** Mirrors left-right with probability p. */
    public static Transform horizontalFlip(double p) {
        return (img, rng) -> {
            if (rng.nextDouble() < p) {
                flip(img);
            }
        };
    }

    static void flip(Image img) {
        for (int ch = 0; ch < img.c; ch++) {
            for (int y = 0; y < img.h; y++) {
                int r = (ch * img.h + y) * img.w;
                for (int a = 0, b = img.w - 1; a < b; a++, b--) {
                    float t = img.data[r + a];
                    img.data[r + a] = img.data[r + b];
                    img.data[r + b] = t;
                }
            }
        }
    }

    /**
     * Crops a random region covering a fraction in [minScale, maxScale] of the area with an
     * aspect ratio in [minRatio, maxRatio] (log-uniform), and resizes it back to H x W
     * (bilinear), as torchvision's RandomResizedCrop; after 10 failed draws, the whole image.
     */
    public static Transform randomResizedCrop(double minScale, double maxScale, double minRatio, double maxRatio) {
        if (!(minScale > 0 && minScale <= maxScale && maxScale <= 1 && minRatio > 0 && minRatio <= maxRatio)) {
            throw new IllegalArgumentException("need 0 < minScale <= maxScale <= 1 and 0 < minRatio <= maxRatio");
        }
        return (img, rng) -> {
            int h = img.h, w = img.w;
            int ch = h, cw = w, top = 0, left = 0;
            for (int attempt = 0; attempt < 10; attempt++) {
                double area = h * w * (minScale + (maxScale - minScale) * rng.nextDouble());
                double ratio = Math.exp(Math.log(minRatio) + (Math.log(maxRatio) - Math.log(minRatio)) * rng.nextDouble());
                int tw = (int) Math.round(Math.sqrt(area * ratio)), th = (int) Math.round(Math.sqrt(area / ratio));
                if (tw >= 1 && th >= 1 && tw <= w && th <= h) {
                    ch = th;
                    cw = tw;
                    top = rng.nextInt(h - th + 1);
                    left = rng.nextInt(w - tw + 1);
                    break;
                }
            }
            resizeRegion(img, top, left, ch, cw);
        };
    }

    /** Bilinear resize of the region [top, top+rh) x [left, left+rw) to the whole image. */
    static void resizeRegion(Image img, int top, int left, int rh, int rw) {
        int h = img.h, w = img.w;
        for (int ch = 0; ch < img.c; ch++) {
            int o = ch * h * w;
            for (int y = 0; y < h; y++) {
                double sy = Math.min(Math.max((y + 0.5) * rh / h - 0.5, 0), rh - 1);
                int y0 = (int) sy, y1 = Math.min(y0 + 1, rh - 1);
                double fy = sy - y0;
                for (int x = 0; x < w; x++) {
                    double sx = Math.min(Math.max((x + 0.5) * rw / w - 0.5, 0), rw - 1);
                    int x0 = (int) sx, x1 = Math.min(x0 + 1, rw - 1);
                    double fx = sx - x0;
                    double a = img.data[o + (top + y0) * w + left + x0], b = img.data[o + (top + y0) * w + left + x1];
                    double c = img.data[o + (top + y1) * w + left + x0], d = img.data[o + (top + y1) * w + left + x1];
                    img.scratch[o + y * w + x] = (float) ((a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy);
                }
            }
        }
        img.swap();
    }

    /**
     * Colour jitter: brightness, contrast and saturation factors drawn uniformly from
     * [max(0, 1 - s), 1 + s]; brightness scales the pixels, contrast blends with the mean grey
     * level, saturation with each pixel's grey value (colour images only); results clamp to [0, 1].
     */
    public static Transform colorJitter(double brightness, double contrast, double saturation) {
        return (img, rng) -> {
            float fb = factor(rng, brightness), fc = factor(rng, contrast), fs = factor(rng, saturation);
            int n = img.h * img.w;
            float[] d = img.data;
            for (int i = 0; i < d.length; i++) {
                d[i] = clamp(d[i] * fb);
            }
            double mean = 0;
            for (int i = 0; i < n; i++) {
                mean += grey(img, i);
            }
            float m = (float) (mean / n);
            for (int i = 0; i < d.length; i++) {
                d[i] = clamp(m + (d[i] - m) * fc);
            }
            if (img.c == 3) {
                for (int i = 0; i < n; i++) {
                    float g = grey(img, i);
                    for (int ch = 0; ch < 3; ch++) {
                        d[ch * n + i] = clamp(g + (d[ch * n + i] - g) * fs);
                    }
                }
            }
        };
    }

    private static float factor(SplittableRandom rng, double s) {
        double lo = Math.max(0, 1 - s), hi = 1 + s;
        return (float) (lo + (hi - lo) * rng.nextDouble());
    }

    private static float grey(Image img, int i) {
        if (img.c != 3) {
            return img.data[i];
        }
        int n = img.h * img.w;
        return 0.299f * img.data[i] + 0.587f * img.data[n + i] + 0.114f * img.data[2 * n + i];
    }

    private static float clamp(float v) {
        return v < 0 ? 0 : v > 1 ? 1 : v;
    }

    /** The random stream of the image at {@code position} of epoch {@code epoch}. */
    static SplittableRandom streamFor(long seed, int epoch, int position) {
        long s = seed * 0x9E3779B97F4A7C15L + epoch * 0xC2B2AE3D27D4EB4FL + position * 0x165667B19E3779F9L;
        return new SplittableRandom(s);
    }
}
