package org.cnn4j.io;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.file.Path;
import org.cnn4j.data.DataFormatException;
import org.cnn4j.nn.Sequential;

/**
 * Fuzz targets of the model-file readers (Jazzer): the safetensors container and the
 * architecture JSON. A reader may refuse its input only with a {@link DataFormatException};
 * anything else is a finding (see {@code DataReadersFuzzTest}). Seeds:
 * {@code tests/resources/org/cnn4j/io/ModelFileFuzzTestInputs}.
 */
class ModelFileFuzzTest {
    private static final Path NAME = Path.of("fuzz-input");

    @FuzzTest(maxDuration = "30s")
    void safetensors(byte[] input) {
        try {
            SafeTensors.Contents c = SafeTensors.parse(NAME, input);
            String arch = c.metadata().get(ModelFile.ARCHITECTURE);
            if (arch != null) {
                ModelFile.architecture(NAME, arch).close();
            }
        } catch (DataFormatException expected) {
            // refused, naming the problem
        }
    }

    @FuzzTest(maxDuration = "30s")
    void architecture(FuzzedDataProvider data) {
        try {
            Sequential m = ModelFile.architecture(NAME, data.consumeRemainingAsString());
            m.close();
        } catch (DataFormatException expected) {
            // refused, naming the problem
        }
    }
}
