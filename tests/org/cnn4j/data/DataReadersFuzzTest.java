package org.cnn4j.data;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.util.List;
import org.cnn4j.tensor.Shape;

/**
 * Fuzz targets of the data readers (Jazzer). A reader may refuse its input only with a
 * {@link DataFormatException} naming the problem; any other exception, an Error (stack or memory
 * exhausted) or a hang is a finding. As a unit test ({@code ./cnn4j test}) each target runs on its
 * seed corpus in {@code tests/resources/org/cnn4j/data/DataReadersFuzzTestInputs}; with
 * {@code JAZZER_FUZZ=1} one target fuzzes ({@code tests/fuzz.sh}).
 */
class DataReadersFuzzTest {
    private static final Path NAME = Path.of("fuzz-input");

    @FuzzTest(maxDuration = "30s")
    void idx(byte[] input) {
        try {
            IdxFile f = IdxFile.read(NAME, new ByteArrayInputStream(input));
            if (f.count() < 1) {
                throw new AssertionError("an IDX file of " + f.count() + " items");
            }
        } catch (DataFormatException expected) {
            // refused, naming the problem
        }
    }

    @FuzzTest(maxDuration = "30s")
    void cifar10(byte[] input) {
        try {
            Dataset d = Cifar10.fromRecords("fuzz", List.of(input), List.of(NAME), input.length / Cifar10.RECORD);
            if (d.size() != input.length / Cifar10.RECORD) {
                throw new AssertionError(d.size() + " records from " + input.length + " bytes");
            }
        } catch (DataFormatException expected) {
            // refused, naming the problem
        }
    }

    @FuzzTest(maxDuration = "30s")
    void image(byte[] input) {
        try {
            BufferedImage img = Images.read(NAME, input);
            ImageFolder.toChw(img, Shape.of(3, 8, 8), new byte[3 * 64], 0);
        } catch (DataFormatException expected) {
            // refused, naming the problem
        }
    }
}
