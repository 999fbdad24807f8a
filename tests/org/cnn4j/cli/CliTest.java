package org.cnn4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.cnn4j.NativeExpectation;
import org.cnn4j.data.IdxFileTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line on a small generated MNIST-layout data set. */
class CliTest {
    @TempDir
    Path dir;

    private record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true));
            System.setErr(new PrintStream(err, true));
            int code = Main.run(args);
            return new Run(code, out.toString(), err.toString());
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    /** Whether pixel (y, x) of a 28x28 image of class q lies in its bright quadrant. */
    private static boolean bright(int q, int y, int x) {
        return (y < 14) == (q < 2) && (x < 14) == (q % 2 == 0);
    }

    /** Images whose label is which quadrant is bright: learnable in a few steps. */
    private void writeData(String prefix, int n, long seed) throws IOException {
        SplittableRandom r = new SplittableRandom(seed);
        byte[] px = new byte[n * 784];
        byte[] labels = new byte[n];
        for (int i = 0; i < n; i++) {
            int q = r.nextInt(4);
            labels[i] = (byte) q;
            for (int y = 0; y < 28; y++) {
                for (int x = 0; x < 28; x++) {
                    px[i * 784 + y * 28 + x] = (byte) (bright(q, y, x) ? 200 + r.nextInt(50) : r.nextInt(50));
                }
            }
        }
        Files.write(dir.resolve(prefix + "-images-idx3-ubyte"), IdxFileTest.idx(new int[] {n, 28, 28}, px));
        Files.write(dir.resolve(prefix + "-labels-idx1-ubyte"), IdxFileTest.idx(new int[] {n}, labels));
    }

    private static String lastLine(String s) {
        String[] lines = s.strip().split("\n");
        return lines[lines.length - 1];
    }

    private static double value(String line, String key) {
        Matcher m = Pattern.compile("(?:^| )" + key + "=([0-9.]+)").matcher(line);
        assertTrue(m.find(), key + " missing from: " + line);
        return Double.parseDouble(m.group(1));
    }

    @Test
    void trainThenEvalReproducesTheTestAccuracy() throws IOException {
        writeData("train", 256, 1);
        writeData("t10k", 128, 2);
        Path out = dir.resolve("run");
        Run t = run("train", "--data", "mnist", "--data-dir", dir.toString(), "--epochs", "2", "--batch", "32",
                "--threads", "2", "--out", out.toString(), "--no-progress");
        assertEquals(0, t.code(), t.err());
        String result = lastLine(t.out());
        assertTrue(result.startsWith("result: "), result);
        // auto picks the native CPU backend in the native build and says java in the JNI-free one
        String expected = NativeExpectation.expected() ? " backend=cpu" : " backend=java";
        assertTrue(result.contains(expected), result);
        double acc = value(result, "test_accuracy");
        assertTrue(value(result, "train_images_per_s") > 0, result);
        assertTrue(acc > 0.9, "quadrant task learnt: " + result);

        // the run's figures per epoch: in model.json and as metrics.csv
        com.google.gson.JsonArray history = com.google.gson.JsonParser.parseString(
                Files.readString(out.resolve("model.json"))).getAsJsonObject().getAsJsonArray("history");
        assertEquals(2, history.size());
        com.google.gson.JsonObject second = history.get(1).getAsJsonObject();
        assertEquals(2, second.get("epoch").getAsInt());
        assertEquals(acc, second.get("test_accuracy").getAsDouble(), 5e-5);
        assertEquals(1e-3, second.get("lr").getAsDouble(), 1e-12);
        List<String> csv = Files.readAllLines(out.resolve("metrics.csv"));
        assertEquals(3, csv.size(), String.join("\n", csv));
        assertTrue(csv.get(0).startsWith("epoch,train_loss,train_accuracy,test_loss,test_accuracy"), csv.get(0));
        assertTrue(csv.get(2).startsWith("2,"), csv.get(2));

        Run e = run("eval", "--model-file", out.resolve("model.safetensors").toString(), "--data", "mnist",
                "--data-dir", dir.toString());
        assertEquals(0, e.code(), e.err());
        String evalLine = lastLine(e.out());
        assertTrue(evalLine.startsWith("result: "), evalLine);
        assertEquals(acc, value(evalLine, "test_accuracy"), 1e-9, "eval reproduces train's test accuracy");
    }

    /** predict names the classes of image files (text and JSON); eval refuses data whose classes are not the model's. */
    @Test
    void predictNamesTheClassesAndEvalChecksThem() throws IOException {
        writeData("train", 256, 1);
        writeData("t10k", 64, 2);
        Path out = dir.resolve("run");
        Run t = run("train", "--data", "mnist", "--data-dir", dir.toString(), "--epochs", "2", "--batch", "32",
                "--backend", "java", "--out", out.toString(), "--no-progress");
        assertEquals(0, t.code(), t.err());
        Path images = Files.createDirectories(dir.resolve("images"));
        for (int q = 0; q < 4; q++) {  // one bright quadrant per image: the quadrant is the digit learnt
            java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(28, 28,
                    java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
            for (int y = 0; y < 28; y++) {
                for (int x = 0; x < 28; x++) {
                    int v = bright(q, y, x) ? 225 : 25;
                    img.setRGB(x, y, (v << 16) | (v << 8) | v);
                }
            }
            javax.imageio.ImageIO.write(img, "png", images.resolve("quadrant" + q + ".png").toFile());
        }
        Run p = run("predict", "--model-file", out.toString(), "--backend", "java", "--top-k", "2", images.toString());
        assertEquals(0, p.code(), p.err());
        String[] lines = p.out().strip().split("\n");
        assertEquals(4, lines.length, p.out());
        for (int q = 0; q < 4; q++) {
            assertTrue(lines[q].startsWith(images.resolve("quadrant" + q + ".png") + ": " + q + " "), lines[q]);
        }
        Run j = run("predict", "--model-file", out.toString(), "--backend", "java", "--json",
                images.resolve("quadrant3.png").toString());
        assertEquals(0, j.code(), j.err());
        com.google.gson.JsonObject o = com.google.gson.JsonParser.parseString(j.out().strip()).getAsJsonObject();
        assertEquals("3", o.getAsJsonArray("predictions").get(0).getAsJsonObject().get("label").getAsString());
        assertEquals(3, o.getAsJsonArray("predictions").size());

        // the same files read as Fashion-MNIST: other class names, refused with both lists
        Run e = run("eval", "--model-file", out.toString(), "--data", "fashion-mnist", "--data-dir", dir.toString(),
                "--backend", "java");
        assertEquals(2, e.code(), e.err());
        assertTrue(e.err().contains("[0, 1, 2") && e.err().contains("T-shirt/top"), e.err());
        Run bad = run("predict", "--model-file", out.toString(), dir.resolve("nothing-here.png").toString());
        assertEquals(2, bad.code(), bad.err());
    }

    /** A model trained on an image folder keeps the folder's class names: predict answers with them. */
    @Test
    void predictAfterTrainingOnAnImageFolder() throws IOException {
        String[] names = {"cross", "ring"};
        SplittableRandom r = new SplittableRandom(3);
        for (String split : new String[] {"train", "test"}) {
            for (int c = 0; c < 2; c++) {
                for (int i = 0; i < (split.equals("train") ? 40 : 8); i++) {
                    java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(20, 20,
                            java.awt.image.BufferedImage.TYPE_INT_RGB);
                    for (int y = 0; y < 20; y++) {
                        for (int x = 0; x < 20; x++) {
                            int dx = x - 10, dy = y - 10;
                            boolean on = c == 0 ? Math.abs(dx) < 2 || Math.abs(dy) < 2
                                    : Math.abs(dx * dx + dy * dy - 49) < 12;
                            int v = (on ? 200 : 30) + r.nextInt(40);
                            img.setRGB(x, y, (v << 16) | (v << 8) | v);
                        }
                    }
                    Path f = dir.resolve("shapes/" + split + "/" + names[c] + "/" + i + ".png");
                    Files.createDirectories(f.getParent());
                    javax.imageio.ImageIO.write(img, "png", f.toFile());
                }
            }
        }
        Path out = dir.resolve("shapes-run");
        Run t = run("train", "--data", "folder:" + dir.resolve("shapes"), "--image-size", "28x28", "--epochs", "4",
                "--batch", "16", "--backend", "java", "--out", out.toString(), "--no-progress");
        assertEquals(0, t.code(), t.err());
        Run p = run("predict", "--model-file", out.toString(), "--backend", "java", "--top-k", "2",
                dir.resolve("shapes/test/ring").toString(), dir.resolve("shapes/test/cross/0.png").toString());
        assertEquals(0, p.code(), p.err());
        String[] lines = p.out().strip().split("\n");
        assertEquals(9, lines.length, p.out());
        int right = 0;
        for (int i = 0; i < 8; i++) {
            assertTrue(lines[i].matches(".*: (ring|cross) [0-9.]+ (ring|cross) [0-9.]+"), lines[i]);
            right += lines[i].contains(": ring ") ? 1 : 0;
        }
        assertTrue(right >= 6, "rings recognised: " + right + " of 8\n" + p.out());
    }

    /** Errors of the JVM get a message that says what helps, exit code 1, and no stack trace. */
    @Test
    void javaErrorsGetAMessage() {
        java.io.StringWriter w = new java.io.StringWriter();
        assertEquals(1, Main.report(new OutOfMemoryError("Java heap space"), new java.io.PrintWriter(w)));
        assertTrue(w.toString().contains("--batch") && w.toString().contains("CNN4J_JAVA_OPTS=-Xmx"), w.toString());
        w = new java.io.StringWriter();
        assertEquals(1, Main.report(new StackOverflowError(), new java.io.PrintWriter(w)));
        assertTrue(w.toString().startsWith("error: an input is nested too deeply"), w.toString());
        assertTrue(!w.toString().contains("\tat "), w.toString());
    }

    /** An image folder whose test split has a class the training split lacks is refused, naming it. */
    @Test
    void aTestOnlyClassFolderIsRefused() throws IOException {
        for (String f : new String[] {"train/a/1.png", "train/b/1.png", "test/a/1.png", "test/c/1.png"}) {
            Path p = dir.resolve("split/" + f);
            Files.createDirectories(p.getParent());
            javax.imageio.ImageIO.write(new java.awt.image.BufferedImage(8, 8, java.awt.image.BufferedImage.TYPE_INT_RGB),
                    "png", p.toFile());
        }
        Run r = run("train", "--data", "folder:" + dir.resolve("split"), "--backend", "java", "--epochs", "1",
                "--out", dir.resolve("split-run").toString(), "--no-progress");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("class folders the training split lacks: [c]") && r.err().contains("[a, b]"), r.err());
    }

    /**
     * A run that diverges (SGD at lr 1e30) ends with exit code 1 and a message, and the model it
     * would have replaced is still there, byte for byte, with no temporary file left beside it.
     */
    @Test
    void aDivergedRunKeepsTheSavedModel() throws IOException {
        writeData("train", 128, 1);
        writeData("t10k", 64, 2);
        Path out = dir.resolve("run");
        Run good = run("train", "--data", "mnist", "--data-dir", dir.toString(), "--epochs", "1", "--batch", "32",
                "--backend", "java", "--out", out.toString(), "--no-progress");
        assertEquals(0, good.code(), good.err());
        byte[] weights = Files.readAllBytes(out.resolve("model.safetensors"));
        byte[] json = Files.readAllBytes(out.resolve("model.json"));
        byte[] metrics = Files.readAllBytes(out.resolve("metrics.csv"));
        byte[] report = Files.readAllBytes(out.resolve("report.html"));
        Run bad = run("train", "--data", "mnist", "--data-dir", dir.toString(), "--epochs", "1", "--batch", "32",
                "--backend", "java", "--optimizer", "sgd", "--lr", "1e30", "--out", out.toString(), "--no-progress");
        assertEquals(1, bad.code(), bad.err());
        assertTrue(bad.err().contains("NaN") && bad.err().contains("nothing was saved and the model in " + out
                + " is kept"), bad.err());
        assertTrue(!bad.err().contains("\tat "), "no stack trace: " + bad.err());
        org.junit.jupiter.api.Assertions.assertArrayEquals(weights, Files.readAllBytes(out.resolve("model.safetensors")));
        org.junit.jupiter.api.Assertions.assertArrayEquals(json, Files.readAllBytes(out.resolve("model.json")));
        org.junit.jupiter.api.Assertions.assertArrayEquals(metrics, Files.readAllBytes(out.resolve("metrics.csv")));
        org.junit.jupiter.api.Assertions.assertArrayEquals(report, Files.readAllBytes(out.resolve("report.html")));
        try (var files = Files.list(out)) {
            assertEquals(List.of(".cnn4j.lock", "metrics.csv", "metrics.json", "model.json", "model.safetensors",
                            "report.html"),
                    files.map(f -> f.getFileName().toString()).sorted().toList());
        }
    }

    /**
     * A run checkpointed mid-epoch and resumed with a larger --epochs ends with the very weights of
     * a run that went straight through; the resumed run takes its settings from the checkpoint and
     * refuses a command line that contradicts them.
     */
    @Test
    void aRunResumedFromAMidEpochCheckpointEndsAsAnUninterruptedOne() throws IOException {
        writeData("train", 128, 1);
        writeData("t10k", 64, 2);
        Path straight = dir.resolve("straight");
        Path parts = dir.resolve("parts");
        Run a = run("train", "--data", "mnist", "--data-dir", dir.toString(), "--epochs", "2", "--batch", "32",
                "--backend", "java", "--threads", "2", "--clip-grad-norm", "5", "--val-split", "0.25", "--out",
                straight.toString(), "--no-progress", "--no-report");
        assertEquals(0, a.code(), a.err());
        Run b = run("train", "--data", "mnist", "--data-dir", dir.toString(), "--epochs", "1", "--batch", "32",
                "--backend", "java", "--threads", "2", "--clip-grad-norm", "5", "--val-split", "0.25", "--out",
                parts.toString(), "--no-progress", "--no-report", "--checkpoint-every", "2steps", "--keep-checkpoints", "1");
        assertEquals(0, b.code(), b.err());
        assertTrue(b.out().contains("train=96 val=32 test=64"), b.out());
        try (var files = Files.list(parts.resolve("checkpoints"))) {
            assertEquals(List.of("checkpoint-000000000002.safetensors"),
                    files.map(f -> f.getFileName().toString()).sorted().toList(), "3 batches an epoch: one at step 2, 1 kept");
        }
        Run bad = run("train", "--resume", parts.toString(), "--lr", "0.5", "--no-progress");
        assertEquals(2, bad.code(), bad.err());
        assertTrue(bad.err().contains("--lr 0.5 differs from the checkpoint's 0.001"), bad.err());
        Run c = run("train", "--resume", parts.toString(), "--epochs", "2", "--backend", "java", "--threads", "2",
                "--no-progress", "--no-report");
        assertEquals(0, c.code(), c.err());
        assertTrue(c.out().contains("resuming from") && c.out().contains("epoch 1, batch 2 (step 2)"), c.out());
        assertTrue(c.out().contains("epoch 2/2"), c.out());
        org.junit.jupiter.api.Assertions.assertArrayEquals(Files.readAllBytes(straight.resolve("model.safetensors")),
                Files.readAllBytes(parts.resolve("model.safetensors")), "the resumed run's weights are the straight run's");
        List<String> m1 = Files.readAllLines(straight.resolve("metrics.csv"));
        List<String> m2 = Files.readAllLines(parts.resolve("metrics.csv"));
        assertEquals(3, m2.size());
        for (int i = 0; i < 3; i++) {  // everything but throughput, seconds and memory
            assertEquals(String.join(",", List.of(m1.get(i).split(",")).subList(0, 7)),
                    String.join(",", List.of(m2.get(i).split(",")).subList(0, 7)));
        }
    }

    /**
     * Every train run writes report.html: curves, epochs, model, settings, the confusion matrix
     * with class names, the first convolution's filters, activation maps and mistakes; `report
     * RUN_DIR` rebuilds it from the saved model and metrics.
     */
    @Test
    void trainWritesAReportAndReportRebuildsIt() throws IOException {
        writeData("train", 96, 7);
        writeData("t10k", 40, 8);
        Path out = dir.resolve("reported");
        Run r = run("train", "--data", "mnist", "--data-dir", dir.toString(), "--epochs", "2", "--batch", "16",
                "--backend", "java", "--val-split", "0.25", "--out", out.toString(), "--no-progress");
        assertEquals(0, r.code(), r.err());
        String html = Files.readString(out.resolve("report.html"));
        for (String section : List.of("Training curves", "Epochs", "Model", "Settings", "Confusion matrix (test set, 40 images)",
                "First convolution's filters (layer 0, [6, 1, 5, 5])", "Activation maps", "Misclassified test images",
                "layer 0 (Conv2d + ReLU) 6x28x28", "layer 3 (Conv2d + ReLU) 16x10x10", "<th>7</th>", "val top-5")) {
            assertTrue(html.contains(section), section + " missing from the report");
        }
        assertEquals(3, count(html, "<img alt="), "loss, accuracy and learning-rate charts");
        int pix = count(html, "<img class=\"pix\"");
        int mistakes = count(html, "<div class=\"cell\">");
        // 6 filters; 3 test images, each with 6 + 8 maps; the misclassified images
        assertEquals(6 + 3 * (1 + 6 + 8) + mistakes, pix);
        assertTrue(html.contains("cnn4j train --model lenet5 --data mnist"), "the settings as a command line");
        assertFalse(html.contains("http://") || html.contains("https://") || html.contains("<script"),
                "the page is self-contained and static");
        Files.delete(out.resolve("report.html"));
        Run again = run("report", out.toString(), "--backend", "java");
        assertEquals(0, again.code(), again.err());
        assertTrue(again.out().contains("result: report=") && again.out().contains("epochs=2"), again.out());
        String rebuilt = Files.readString(out.resolve("report.html"));
        assertEquals(html, rebuilt, "the rebuilt page is the one train wrote");
        Run missing = run("report", dir.resolve("nowhere").toString());
        assertEquals(2, missing.code(), missing.err());
        assertTrue(missing.err().contains("has no model.json"), missing.err());
        Path broken = Files.createDirectories(dir.resolve("broken"));
        Files.writeString(broken.resolve("model.json"), "{\"history\": [1]}");
        Run bad = run("report", broken.toString());
        assertEquals(2, bad.code(), bad.err());
        assertTrue(bad.err().contains("a history entry is not an object: 1"), bad.err());
        Files.writeString(broken.resolve("model.json"), "{\"history\": [");
        bad = run("report", broken.toString());
        assertEquals(2, bad.code(), bad.err());
        assertTrue(bad.err().contains("model.json: unreadable"), bad.err());
    }

    private static int count(String s, String what) {
        int n = 0;
        for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }

    /** --early-stop stops a run whose validation loss stops improving and keeps the best epoch. */
    @Test
    void earlyStoppingFromTheCommandLine() throws IOException {
        writeData("train", 96, 3);
        writeData("t10k", 32, 4);
        byte[] noise = new byte[96];  // labels that have nothing to do with the images: validation loss rises soon
        SplittableRandom rng = new SplittableRandom(5);
        for (int i = 0; i < noise.length; i++) {
            noise[i] = (byte) rng.nextInt(4);
        }
        Files.write(dir.resolve("train-labels-idx1-ubyte"), IdxFileTest.idx(new int[] {96}, noise));
        Path out = dir.resolve("early");
        Run r = run("train", "--data", "mnist", "--data-dir", dir.toString(), "--epochs", "30", "--batch", "16",
                "--backend", "java", "--lr", "3e-3", "--val-split", "0.3", "--early-stop", "2", "--out", out.toString(),
                "--no-progress", "--no-report");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("stopped early: val_loss did not improve for 2 epochs"), r.out());
        String json = Files.readString(out.resolve("model.json"));
        assertTrue(json.contains("\"stopped_early\""), json);
    }

    /** --out is checked before any data is read (the data folder here does not even exist). */
    @Test
    void aBadOutFolderIsAUsageErrorBeforeTheDataLoads() throws IOException {
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        Run r = run("train", "--data", "mnist", "--data-dir", dir.resolve("missing").toString(), "--out",
                file.resolve("sub").toString(), "--no-progress");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--out") && r.err().contains("cannot be created"), r.err());
        r = run("train", "--data", "mnist", "--data-dir", dir.resolve("missing").toString(), "--out", file.toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--out " + file), r.err());
    }

    /** Two runs never write one folder: the second is refused while the first holds it. */
    @Test
    void anOutFolderInUseIsRefused() throws IOException {
        writeData("train", 64, 1);
        writeData("t10k", 32, 2);
        Path out = dir.resolve("busy");
        try (org.cnn4j.io.OutputLock held = org.cnn4j.io.OutputLock.acquire(out, "--out")) {
            Run r = run("train", "--data", "mnist", "--data-dir", dir.toString(), "--backend", "java", "--out",
                    out.toString(), "--no-progress");
            assertEquals(1, r.code(), r.err());
            assertTrue(r.err().contains("is writing " + out), r.err());
        }
        Run r = run("train", "--data", "mnist", "--data-dir", dir.resolve("missing").toString(), "--out",
                dir.resolve("never-written").toString());
        assertEquals(1, r.code(), r.err());
        assertTrue(!Files.exists(dir.resolve("never-written")), "a failed run leaves no empty folder behind");
    }

    /** `train --backend cuda` on the simulated CUDA device gives the figures of the native CPU backend. */
    @Test
    void trainsThroughTheSimulatedCudaDevice() throws IOException {
        NativeExpectation.requireGpu();
        org.junit.jupiter.api.Assumptions.assumeTrue(org.cnn4j.backend.CudaBackend.simulated(),
                "compares the simulated CUDA device with the CPU backend; this build's device is a GPU");
        writeData("train", 256, 1);
        writeData("t10k", 128, 2);
        String[] lines = new String[2];
        String[] backends = {"cuda", "cpu"};
        for (int i = 0; i < 2; i++) {
            Run r = run("train", "--backend", backends[i], "--data", "mnist", "--data-dir", dir.toString(), "--epochs",
                    "2", "--batch", "32", "--out", dir.resolve(backends[i]).toString(), "--no-progress");
            assertEquals(0, r.code(), r.err());
            lines[i] = lastLine(r.out());
            assertTrue(lines[i].contains(" backend=" + backends[i]), lines[i]);
        }
        assertTrue(value(lines[0], "test_accuracy") > 0.9, lines[0]);
        assertEquals(value(lines[1], "test_accuracy"), value(lines[0], "test_accuracy"), 0.01, lines[0]);
        assertEquals(value(lines[1], "test_loss"), value(lines[0], "test_loss"), 0.01, lines[0]);
    }

    /** Each setting is checked before the data is read (the data folder here does not exist): exit 2, naming it. */
    @Test
    void settingsAreCheckedBeforeTheDataLoads() {
        String missing = dir.resolve("no-data").toString();
        String[][] cases = {
            {"--lr", "-1", "--lr must be a positive number"},
            {"--lr", "NaN", "--lr must be a positive number"},
            {"--momentum", "1.5", "--momentum must be in [0, 1)"},
            {"--weight-decay", "-0.1", "--weight-decay must be in [0, 1)"},
            {"--threads", "-3", "--threads must be 0"},
            {"--threads", "100000", "--threads must be 0"},
            {"--backend", "tpu", "unknown backend 'tpu'"},
            {"--optimizer", "lion", "unknown optimizer 'lion'"},
            {"--schedule", "cyclic", "unknown schedule 'cyclic'"},
            {"--gamma", "0", "--gamma in (0, 1]"},
            {"--batch", "100000000", "--batch 100000000 is too large"},
        };
        for (String[] c : cases) {
            Run r = run("train", "--data", "mnist", "--data-dir", missing, "--out", dir.resolve("o").toString(), c[0], c[1]);
            assertEquals(2, r.code(), c[0] + " " + c[1] + ": " + r.err());
            assertTrue(r.err().contains(c[2]), c[0] + " " + c[1] + ": " + r.err());
            assertTrue(!r.err().contains("no-data") && !r.err().contains("\tat "), r.err());
        }
    }

    @Test
    void badArgumentsGiveAUsageErrorNotATrace() {
        Run r = run("train", "--epochs", "many");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("Invalid value for option '--epochs'"), r.err());
        assertTrue(!r.err().contains("at org.cnn4j"), "no stack trace: " + r.err());

        r = run("bench", "--input", "3x32", "--backend", "java");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--input must be 3 positive sizes"), r.err());

        r = run("train", "--model", "resnet999", "--data-dir", dir.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unknown model 'resnet999'"), r.err());

        if (!org.cnn4j.backend.NativeCpuBackend.isAvailable() || !org.cnn4j.backend.CudaBackend.isAvailable()) {
            r = run("train", "--backend", "cuda", "--data", "mnist", "--data-dir", dir.toString());
            assertEquals(1, r.code(), r.err());
            assertTrue(r.err().contains("backend 'cuda' is not available"), r.err());
        }

        r = run("bench", "--backend", "java", "--precision", "fp16");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("unknown precision 'fp16' (expected fp32 or tf32)"), r.err());
        r = run("train", "--backend", "java", "--precision", "tf32", "--data-dir", dir.toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--precision tf32 needs --backend cuda (got java)"), r.err());

        r = run("eval", "--model-file", dir.resolve("none.safetensors").toString(), "--data", "mnist",
                "--data-dir", dir.toString());
        assertTrue(r.code() != 0);
        assertTrue(r.err().startsWith("error: "), r.err());
    }

    @Test
    void summaryPrintsTheTable() {
        Run r = run("summary", "lenet5");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("total parameters: 61,706"), r.out());
        assertTrue(r.out().contains("16x5x5"), r.out());
    }

    /** summary takes bench's --input and --classes, and torchvision's model names. */
    @Test
    void summaryForAnotherInputAndTorchvisionNames() {
        Run r = run("summary", "vgg11_bn", "--input", "3x32x32", "--classes", "10");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("vgg11_bn (input 3x32x32)"), r.out());
        assertTrue(r.out().contains("BatchNorm2d"), r.out());
        String lastLayer = r.out().lines().filter(l -> l.contains("Linear")).reduce((a, b) -> b).orElse("");
        assertTrue(lastLayer.contains("->10"), lastLayer);
        Run resnet = run("summary", "ResNet18");
        assertEquals(0, resnet.code(), resnet.err());
        assertTrue(resnet.out().contains("total parameters: 11,689,512"), resnet.out());
        Run bad = run("summary", "lenet5", "--classes", "1");
        assertEquals(2, bad.code(), bad.err());
        assertTrue(bad.err().contains("--classes must be at least 2"), bad.err());
        Run unknown = run("summary", "vgg99");
        assertEquals(2, unknown.code(), unknown.err());
        assertTrue(unknown.err().contains("unknown model 'vgg99'"), unknown.err());
    }

    /**
     * {@code train --workers 2}: two worker processes train one model; a worker killed
     * mid-run stops the run with an error naming it, and {@code --resume} finishes from the last
     * checkpoint with the weights of a run that was never interrupted (nothing trained twice or
     * lost). The kill is deterministic: worker 1 is paused (SIGSTOP) once a checkpoint exists,
     * which holds worker 0 at its next all-reduce, then killed (SIGKILL). The gradients go in
     * buckets of 10 KiB summed during the backward pass (--bucket-mb).
     */
    @Test
    void aKilledWorkerStopsTheRunAndTheResumedRunEndsAsAnUninterruptedOne() throws Exception {
        NativeExpectation.requireNative();
        writeData("train", 1024, 3);
        writeData("t10k", 64, 4);
        List<String> common = List.of("--data", "mnist", "--data-dir", dir.toString(), "--epochs", "4", "--batch", "32",
                "--optimizer", "sgd", "--lr", "0.05", "--backend", "cpu", "--workers", "2", "--no-progress",
                "--no-report", "--checkpoint-every", "8steps", "--keep-checkpoints", "2", "--bucket-mb", "0.01");
        Path straight = dir.resolve("straight");
        Run a = run(args("train", common, "--out", straight.toString()));
        assertEquals(0, a.code(), a.err());
        assertTrue(a.out().contains("2 workers on this machine") && a.out().contains("workers=2"), a.out());
        assertTrue(lastLine(a.out()).startsWith("result: model=lenet5"), a.out());

        Path killed = dir.resolve("killed");
        java.util.concurrent.CompletableFuture<Run> b = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> run(args("train", common, "--out", killed.toString())));
        Path checkpoints = killed.resolve("checkpoints");
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (!(Files.isDirectory(checkpoints) && Files.list(checkpoints).findAny().isPresent())) {
            assertTrue(System.nanoTime() < deadline && !b.isDone(), "no checkpoint appeared");
            Thread.sleep(5);
        }
        ProcessHandle worker1 = ProcessHandle.current().descendants()
                .filter(p -> p.info().arguments().map(x -> String.join(" ", x).contains("--rank 1")).orElse(false))
                .findFirst().orElseThrow();
        new ProcessBuilder("kill", "-STOP", String.valueOf(worker1.pid())).start().waitFor();
        worker1.destroyForcibly();
        Run c = b.get(120, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(1, c.code(), c.out() + c.err());
        assertTrue(c.err().contains("worker 1 of 2 failed") && c.err().contains("--resume " + killed), c.err());
        assertFalse(Files.exists(killed.resolve("model.safetensors")), "a stopped run saves no model");

        Run d = run("train", "--resume", killed.toString(), "--workers", "2", "--backend", "cpu", "--no-progress",
                "--no-report", "--bucket-mb", "0.01");
        assertEquals(0, d.code(), d.err());
        Matcher m = Pattern.compile("epoch (\\d+), batch (\\d+) \\(step (\\d+)\\)").matcher(d.out());
        assertTrue(m.find(), d.out());
        assertTrue(Integer.parseInt(m.group(3)) < 4 * 32, "resumed before the end: " + m.group());
        org.junit.jupiter.api.Assertions.assertArrayEquals(Files.readAllBytes(straight.resolve("model.safetensors")),
                Files.readAllBytes(killed.resolve("model.safetensors")),
                "the resumed run's weights are the uninterrupted run's");
    }

    /**
     * {@code train --workers 2 --backend cuda} on a machine with two GPUs and a build with NCCL:
     * each worker on a GPU of its own, the gradients summed where they lie by NCCL; the run ends
     * with the test loss of one worker on one GPU with the same global batch (the sums differ in
     * order only). Skipped with the reason where that is missing; with -Dcnn4j.expectGpu=true a
     * machine of two GPUs without NCCL fails it.
     */
    @Test
    void twoWorkersOnTwoGpusSumTheirGradientsWithNccl() throws Exception {
        NativeExpectation.requireGpu();
        int gpus = org.cnn4j.backend.CudaBackend.deviceCount();
        String missing = gpus < 2 ? gpus + " GPU here, 2 are needed" : org.cnn4j.dist.NcclCollective.unavailableReason();
        if (missing != null) {
            assertFalse(gpus >= 2 && Boolean.getBoolean("cnn4j.expectGpu"), missing);
            org.junit.jupiter.api.Assumptions.abort(missing);
        }
        writeData("train", 1024, 3);
        writeData("t10k", 256, 4);
        List<String> common = List.of("--data", "mnist", "--data-dir", dir.toString(), "--epochs", "2", "--batch", "64",
                "--optimizer", "sgd", "--lr", "0.05", "--backend", "cuda", "--no-progress", "--no-report");
        Run two = run(args("train", common, "--workers", "2", "--out", dir.resolve("two").toString()));
        assertEquals(0, two.code(), two.err());
        assertTrue(two.out().contains("gradients summed by NCCL on the GPUs"), two.out());
        Run one = run(args("train", common, "--out", dir.resolve("one").toString()));
        assertEquals(0, one.code(), one.err());
        double a = value(lastLine(two.out()), "test_loss"), b = value(lastLine(one.out()), "test_loss");
        assertTrue(Math.abs(a - b) <= 1e-3 * Math.max(1, b), "2 GPUs: test loss " + a + ", 1 GPU: " + b);
    }

    private static String[] args(String command, List<String> common, String... more) {
        List<String> all = new java.util.ArrayList<>();
        all.add(command);
        all.addAll(common);
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }
}
