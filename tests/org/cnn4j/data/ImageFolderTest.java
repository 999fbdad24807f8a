package org.cnn4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.cnn4j.tensor.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The image-folder reader on PNG and JPEG files the test writes, and on broken ones. */
class ImageFolderTest {
    @TempDir
    Path dir;

    static void image(Path file, int w, int h, int rgb, String format) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, rgb);
            }
        }
        Files.createDirectories(file.getParent());
        ImageIO.write(img, format, file.toFile());
    }

    /**
     * A PNG whose header declares 20000 x 20000 pixels (2.4 GB decoded) is refused from its
     * header, before any pixel is decoded; the file here is 57 bytes.
     */
    @Test
    void imagesLargerThanThePixelLimitAreRefusedFromTheirHeader() throws IOException {
        java.io.ByteArrayOutputStream png = new java.io.ByteArrayOutputStream();
        png.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        java.nio.ByteBuffer ihdr = java.nio.ByteBuffer.allocate(17).put("IHDR".getBytes(java.nio.charset.StandardCharsets.US_ASCII))
                .putInt(20000).putInt(20000).put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0);
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(ihdr.array());
        png.write(java.nio.ByteBuffer.allocate(4).putInt(13).array());
        png.write(ihdr.array());
        png.write(java.nio.ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
        png.write(new byte[] {0, 0, 0, 0, 'I', 'E', 'N', 'D', (byte) 0xae, 0x42, 0x60, (byte) 0x82});
        Path f = java.nio.file.Files.write(dir.resolve("huge.png"), png.toByteArray());
        DataFormatException e = assertThrows(DataFormatException.class, () -> Images.read(f));
        assertTrue(e.getMessage().contains("20000x20000 pixels") && e.getMessage().contains(f.toString()), e.getMessage());
    }

    @Test
    void classesAreSortedFoldersAndImagesAreResized() throws IOException {
        Path train = dir.resolve("train");
        image(train.resolve("cat/a.png"), 40, 30, 0xFF0000, "png");
        image(train.resolve("cat/b.PNG"), 8, 8, 0x00FF00, "png");
        image(train.resolve("ant/c.jpg"), 20, 20, 0x0000FF, "jpg");
        Files.writeString(train.resolve("cat/notes.txt"), "not an image");
        Dataset d = ImageFolder.load(train, Shape.of(3, 16, 16), null);
        assertEquals(List.of("ant", "cat"), ImageFolder.classes(train));
        assertEquals(2, d.classes());
        assertArrayEquals(new int[] {0, 1, 1}, d.labels());
        assertEquals(Shape.of(3, 16, 16), d.sampleShape());
        int plane = 256;
        // a.png (sample 1) is pure red after resizing: R = 255, G = B = 0
        assertEquals(255, d.pixels()[3 * plane] & 0xff);
        assertEquals(0, d.pixels()[3 * plane + plane] & 0xff);
        // the JPEG is blue within JPEG's error
        assertTrue((d.pixels()[2 * plane] & 0xff) > 200);
        Dataset grey = ImageFolder.load(train, Shape.of(1, 8, 8), null);
        assertEquals(Math.round(0.299 * 255), grey.pixels()[64] & 0xff, "grey = 0.299 R + 0.587 G + 0.114 B");
    }

    @Test
    void splitsAndTheTrainingClasses() throws IOException {
        image(dir.resolve("train/a/1.png"), 4, 4, 0, "png");
        image(dir.resolve("train/b/1.png"), 4, 4, 0, "png");
        image(dir.resolve("val/b/1.png"), 4, 4, 0, "png");
        assertEquals(dir.resolve("val"), ImageFolder.split(dir, false));
        DataFormatException e = assertThrows(DataFormatException.class,
                () -> ImageFolder.load(ImageFolder.split(dir, false), Shape.of(3, 4, 4), List.of("a", "b")));
        assertTrue(e.getMessage().contains("missing class folder") && e.getMessage().contains("'a'"), e.getMessage());
    }

    @Test
    void unreadableImageNamesTheFile() throws IOException {
        Path bad = dir.resolve("train/x/broken.png");
        Files.createDirectories(bad.getParent());
        Files.write(bad, new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3});
        DataFormatException e = assertThrows(DataFormatException.class,
                () -> ImageFolder.load(dir.resolve("train"), Shape.of(3, 4, 4), null));
        assertTrue(e.getMessage().contains("broken.png"), e.getMessage());
    }

    @Test
    void emptyClassAndMissingSplits() throws IOException {
        Files.createDirectories(dir.resolve("train/empty"));
        DataFormatException e = assertThrows(DataFormatException.class,
                () -> ImageFolder.load(dir.resolve("train"), Shape.of(3, 4, 4), null));
        assertTrue(e.getMessage().contains("no .png"), e.getMessage());
        DataFormatException s = assertThrows(DataFormatException.class, () -> ImageFolder.split(dir, false));
        assertTrue(s.getMessage().contains("test (or val)"), s.getMessage());
    }
}
