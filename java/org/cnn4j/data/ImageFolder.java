package org.cnn4j.data;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.cnn4j.tensor.Shape;

/**
 * Images in a folder per class (the layout of torchvision's {@code ImageFolder}): the class
 * folders' names, sorted, are the classes 0, 1, ...; each holds PNG or JPEG files. Every image is
 * converted to RGB (or grey for one channel) and resized to the model's input with bilinear
 * interpolation. {@code folder:DIR} on the command line reads {@code DIR/train} and
 * {@code DIR/test} (or {@code DIR/val}).
 */
public final class ImageFolder {
    private ImageFolder() {
    }

    /** The split folder for {@code folder:DIR}: DIR/train, or DIR/test then DIR/val for the test split. */
    public static Path split(Path dir, boolean train) {
        if (!Files.isDirectory(dir)) {
            throw new DataFormatException(dir, "image folder not found");
        }
        for (String s : train ? List.of("train") : List.of("test", "val")) {
            Path p = dir.resolve(s);
            if (Files.isDirectory(p)) {
                return p;
            }
        }
        throw new DataFormatException(dir, "expected a " + (train ? "train" : "test (or val)")
                + " folder holding one folder of images per class");
    }

    /** The class folders of {@code dir}, sorted by name. */
    public static List<String> classes(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            List<String> names = s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList();
            if (names.isEmpty()) {
                throw new DataFormatException(dir, "no class folders");
            }
            return names;
        } catch (IOException e) {
            throw new DataFormatException(dir, "cannot list: " + e.getMessage(), e);
        }
    }

    /**
     * Loads every image under {@code dir}'s class folders, resized to {@code sample} (C x H x W,
     * C = 1 or 3). {@code classNames} fixes the class order (null: the folders of dir), so that
     * a test split uses the training split's classes.
     */
    public static Dataset load(Path dir, Shape sample, List<String> classNames) {
        if (sample.rank() != 3 || (sample.dim(0) != 1 && sample.dim(0) != 3)) {
            throw new IllegalArgumentException("image folders load 1 x H x W or 3 x H x W samples, not "
                    + sample.toCompactString());
        }
        List<String> names = classNames != null ? classNames : classes(dir);
        List<Path> files = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        for (int c = 0; c < names.size(); c++) {
            Path cd = dir.resolve(names.get(c));
            if (!Files.isDirectory(cd)) {
                throw new DataFormatException(cd, "missing class folder (the training split has class '"
                        + names.get(c) + "')");
            }
            try (Stream<Path> s = Files.list(cd)) {
                List<Path> imgs = s.filter(Files::isRegularFile).filter(ImageFolder::isImage).sorted().toList();
                if (imgs.isEmpty()) {
                    throw new DataFormatException(cd, "no .png, .jpg or .jpeg images in class folder");
                }
                for (Path p : imgs) {
                    files.add(p);
                    labels.add(c);
                }
            } catch (IOException e) {
                throw new DataFormatException(cd, "cannot list: " + e.getMessage(), e);
            }
        }
        int ss = sample.numel();
        byte[] pixels = new byte[files.size() * ss];
        int[] y = new int[files.size()];
        for (int i = 0; i < files.size(); i++) {
            y[i] = labels.get(i);
            toChw(read(files.get(i)), sample, pixels, i * ss);
        }
        return new Dataset("folder:" + dir, sample, names.size(), pixels, y, names, null);
    }

    private static boolean isImage(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg");
    }

    private static BufferedImage read(Path f) {
        return Images.read(f);
    }

    /**
     * The preprocessing of training, for any image: resizes (bilinear) to H x W of {@code sample}
     * (C x H x W, C = 1 or 3) and writes the channels as CHW bytes at {@code offset} (one channel:
     * luma 0.299 R + 0.587 G + 0.114 B).
     */
    public static void toChw(BufferedImage src, Shape sample, byte[] out, int offset) {
        int c = sample.dim(0), h = sample.dim(1), w = sample.dim(2);
        BufferedImage rgb = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = rgb.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.drawImage(src, 0, 0, w, h, null);
        g.dispose();
        int plane = h * w;
        for (int yy = 0; yy < h; yy++) {
            for (int xx = 0; xx < w; xx++) {
                int p = rgb.getRGB(xx, yy);
                int r = (p >> 16) & 0xff, gr = (p >> 8) & 0xff, b = p & 0xff;
                int q = yy * w + xx;
                if (c == 1) {
                    out[offset + q] = (byte) Math.round(0.299 * r + 0.587 * gr + 0.114 * b);
                } else {
                    out[offset + q] = (byte) r;
                    out[offset + plane + q] = (byte) gr;
                    out[offset + 2 * plane + q] = (byte) b;
                }
            }
        }
    }
}
