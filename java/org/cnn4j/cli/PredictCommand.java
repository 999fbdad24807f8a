package org.cnn4j.cli;

import com.google.gson.Gson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.cnn4j.backend.Backends;
import org.cnn4j.infer.Predictor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code cnn4j predict}: the most probable classes of images, by name, from a saved model. */
@Command(name = "predict", mixinStandardHelpOptions = true,
        description = "Print the top-k classes and probabilities of each image (PNG or JPEG; a folder: its images).")
final class PredictCommand implements Callable<Integer> {

    @Option(names = "--model-file", required = true, description = "model.safetensors written by train (or its folder).")
    Path modelFile;

    @Parameters(arity = "1..*", paramLabel = "IMAGE|DIR", description = "Image files, or folders of them.")
    List<Path> inputs;

    @Option(names = "--top-k", defaultValue = "3", description = "Classes per image (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--json", description = "One JSON object per image and line instead of text.")
    boolean json;

    @Option(names = "--backend", description = "auto, java, cpu or cuda (default: $CNN4J_BACKEND or auto).")
    String backend;

    @Override
    public Integer call() throws IOException {
        if (topK < 1) {
            throw new IllegalArgumentException("--top-k must be >= 1, got " + topK);
        }
        List<Path> images = new ArrayList<>();
        for (Path p : inputs) {
            if (Files.isDirectory(p)) {
                try (Stream<Path> s = Files.list(p)) {
                    s.filter(PredictCommand::isImage).sorted().forEach(images::add);
                }
            } else if (Files.isRegularFile(p)) {
                images.add(p);
            } else {
                throw new IllegalArgumentException("no such image or folder: " + p);
            }
        }
        if (images.isEmpty()) {
            throw new IllegalArgumentException("no PNG or JPEG images in " + inputs);
        }
        try (Predictor p = Predictor.open(modelFile, backend != null ? backend : Backends.defaultName(), 1)) {
            if (topK > p.classes().size()) {
                throw new IllegalArgumentException("--top-k " + topK + " is more than the model's "
                        + p.classes().size() + " classes");
            }
            Gson gson = new Gson();
            for (Path image : images) {
                List<Predictor.Prediction> top = p.predict(image, topK);
                if (json) {
                    List<Map<String, Object>> preds = new ArrayList<>();
                    for (Predictor.Prediction q : top) {
                        Map<String, Object> m = new LinkedHashMap<>();
                        m.put("label", q.label());
                        m.put("index", q.index());
                        m.put("probability", q.probability());
                        preds.add(m);
                    }
                    Map<String, Object> line = new LinkedHashMap<>();
                    line.put("image", image.toString());
                    line.put("predictions", preds);
                    System.out.println(gson.toJson(line));
                } else {
                    StringBuilder b = new StringBuilder(image.toString()).append(':');
                    for (Predictor.Prediction q : top) {
                        b.append(String.format(Locale.ROOT, " %s %.4f", q.label(), q.probability()));
                    }
                    System.out.println(b);
                }
            }
        }
        return 0;
    }

    private static boolean isImage(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg");
    }
}
