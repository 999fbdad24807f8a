package org.cnn4j.data;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/** Reads PNG and JPEG files with the size read from the header and checked before decoding. */
public final class Images {
    private Images() {
    }

    /** The most pixels an image may have (width x height): 64 megapixels, about 256 MB decoded. */
    public static final long MAX_PIXELS = 64L << 20;

    /**
     * Decodes an image whose header declares at most {@link #MAX_PIXELS} pixels.
     *
     * @throws DataFormatException naming the file: not an image, unreadable, or too large
     */
    public static BufferedImage read(Path f) {
        return decode(f, null);
    }

    /** As {@link #read(Path)}, from the bytes of an image file; {@code name} names it in errors. */
    public static BufferedImage read(Path name, byte[] bytes) {
        return decode(name, bytes);
    }

    private static BufferedImage decode(Path f, byte[] bytes) {
        try (ImageInputStream in = ImageIO.createImageInputStream(bytes != null
                ? new java.io.ByteArrayInputStream(bytes) : f.toFile())) {
            if (in == null) {
                throw new DataFormatException(f, "cannot be opened");
            }
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new DataFormatException(f, "not a readable PNG or JPEG image");
            }
            ImageReader r = readers.next();
            try {
                r.setInput(in, true, true);
                long w = r.getWidth(0), h = r.getHeight(0);
                if (w < 1 || h < 1 || w * h > MAX_PIXELS) {
                    throw new DataFormatException(f, "the image is " + w + "x" + h + " pixels; at most " + MAX_PIXELS
                            + " pixels are read");
                }
                BufferedImage img = r.read(0);
                if (img == null) {
                    throw new DataFormatException(f, "not a readable PNG or JPEG image");
                }
                return img;
            } finally {
                r.dispose();
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof DataFormatException d) {
                throw d;
            }
            throw new DataFormatException(f, "unreadable image: " + e.getMessage(), e);
        }
    }
}
