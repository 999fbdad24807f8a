package org.cnn4j.report;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.cnn4j.data.DataLoader;
import org.cnn4j.data.Dataset;
import org.cnn4j.io.SafeTensors;
import org.cnn4j.nn.ActivationLayer;
import org.cnn4j.nn.Conv2d;
import org.cnn4j.nn.Layer;
import org.cnn4j.nn.Residual;
import org.cnn4j.nn.Sequential;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.cnn4j.train.EpochMetrics;
import org.cnn4j.train.History;
import org.cnn4j.train.Trainer;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler;

/**
 * The training report: one self-contained HTML page ({@code report.html} in the run folder;
 * images inline, no scripts, nothing fetched) with the loss, accuracy and learning-rate curves
 * per epoch (charts drawn by XChart), the model summary, the run's settings, the confusion
 * matrix on the test set with class names, the first convolution's filters, the activation
 * maps of every convolution stage for a few test images, and the misclassified test images
 * with their predicted and true labels. Built from a trained model, its history and the test
 * data, so {@code cnn4j report RUN_DIR} can rebuild it from the saved model and metrics.
 */
public final class Report {
    private Report() {
    }

    /** Test images whose activation maps are shown. */
    static final int ACTIVATION_IMAGES = 3;
    /** Channels shown per convolution stage. */
    static final int ACTIVATION_CHANNELS = 8;
    /** Misclassified images shown at most. */
    static final int MISTAKES = 40;

    /** What the report measured on the test set. */
    public record TestFigures(int[][] confusion, int images, int correct, List<int[]> mistakes) {
        /** Mistakes are {sample index, predicted, true}. */
        public double accuracy() {
            return images == 0 ? Double.NaN : (double) correct / images;
        }
    }

    /**
     * Writes {@code dir/report.html} atomically and returns its path.
     *
     * @param valName  how the history names its validation figures ("val" or "test")
     * @param test     the test data, unshuffled (its loader's normalisation is the model's)
     * @param settings the run's settings, shown as a table (may be empty)
     */
    public static Path write(Path dir, Sequential model, History history, String valName, DataLoader test,
                             Map<String, Object> settings) throws IOException {
        System.setProperty("java.awt.headless", "true");
        List<String> classes = model.classNames();
        int k = model.outputShape().numel();
        if (classes == null) {
            classes = new ArrayList<>();
            for (int i = 0; i < k; i++) {
                classes.add(Integer.toString(i));
            }
        }
        TestFigures figures = measure(model, test);
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>cnn4j report</title>\n<style>")
                .append("body{font-family:sans-serif;margin:24px;color:#222;max-width:1200px}h1{font-size:22px}"
                        + "h2{font-size:18px;border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:32px}"
                        + "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}"
                        + "th{background:#f2f2f2}pre{background:#f7f7f7;padding:8px;font-size:12px;overflow:auto;white-space:pre-wrap}"
                        + ".pix{image-rendering:pixelated;border:1px solid #999;margin:1px}"
                        + ".grid{display:flex;flex-wrap:wrap;gap:10px}.cell{text-align:center;font-size:11px}"
                        + ".charts img{margin-right:8px}.cm td{min-width:34px}")
                .append("</style></head><body>\n");
        h.append("<h1>cnn4j training report</h1>\n");
        EpochMetrics last = history.epochs().isEmpty() ? null : history.last();
        h.append("<p>").append(esc(String.valueOf(settings.getOrDefault("--model", "model")))).append(", ")
                .append(history.epochs().size()).append(" epochs");
        if (last != null) {
            h.append(String.format(", final train loss %.4f, %s accuracy %.4f", last.trainLoss(), valName,
                    last.valAccuracy()));
        }
        if (!valName.equals("test") || last == null) {
            h.append(String.format("; test accuracy %.4f on %d images", figures.accuracy(), figures.images()));
        }
        h.append('.');
        if (history.stoppedEarly()) {
            h.append(" Stopped early: ").append(esc(history.stopReason())).append('.');
        }
        h.append("</p>\n");

        h.append("<h2>Training curves</h2>\n<div class=\"charts\">");
        h.append(img(curves(history, valName, "Loss", "loss"), "loss per epoch"));
        h.append(img(curves(history, valName, "Accuracy", "accuracy"), "accuracy per epoch"));
        h.append(img(lrChart(history), "learning rate per epoch"));
        h.append("</div>\n");

        h.append("<h2>Epochs</h2>\n<table><tr><th>epoch</th><th>train loss</th><th>train acc.</th><th>").append(valName)
                .append(" loss</th><th>").append(valName).append(" acc.</th><th>").append(valName)
                .append(" top-5</th><th>lr</th><th>images/s</th><th>s</th><th>RSS MiB</th></tr>\n");
        for (EpochMetrics m : history.epochs()) {
            h.append(String.format("<tr><td>%d</td><td>%.4f</td><td>%.4f</td><td>%s</td><td>%s</td><td>%s</td>"
                            + "<td>%.3g</td><td>%d</td><td>%.1f</td><td>%s</td></tr>\n", m.epoch(), m.trainLoss(),
                    m.trainAccuracy(), f4(m.valLoss()), f4(m.valAccuracy()), f4(m.valTop5()), m.lr(), Math.round(m.imagesPerSecond()),
                    m.seconds(), m.residentBytes() < 0 ? "" : Long.toString(Math.round(m.residentBytes() / 1048576.0))));
        }
        h.append("</table>\n");

        h.append("<h2>Model</h2>\n<pre>").append(esc(model.summary())).append("</pre>\n");
        if (!settings.isEmpty()) {
            h.append("<h2>Settings</h2>\n<pre>cnn4j train");
            for (Map.Entry<String, Object> e : settings.entrySet()) {
                Object v = e.getValue();
                if (v == null || Boolean.FALSE.equals(v)) {
                    continue;
                }
                h.append(' ').append(esc(e.getKey()));
                if (!Boolean.TRUE.equals(v)) {
                    h.append(' ').append(esc(v instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue())
                            && Math.abs(n.doubleValue()) < 1e15 ? Long.toString(n.longValue()) : String.valueOf(v)));
                }
            }
            h.append("</pre>\n");
        }

        h.append("<h2>Confusion matrix (test set, ").append(figures.images()).append(" images)</h2>\n");
        h.append("<p>Rows: true class; columns: predicted class.</p>\n");
        h.append(confusion(figures.confusion(), classes));

        Dataset data = test.dataset();
        Conv2d first = null;
        for (Layer l : model.allLayers()) {
            if (l instanceof Conv2d c) {
                first = c;
                break;
            }
        }
        if (first != null) {
            h.append("<h2>First convolution's filters (layer ").append(esc(first.name())).append(", ")
                    .append(first.parameters().get(0).value().shape()).append(")</h2>\n<div class=\"grid\">");
            for (BufferedImage f : filters(first)) {
                h.append(pixelImg(f, 48));
            }
            h.append("</div>\n");
        }

        h.append("<h2>Activation maps</h2>\n");
        h.append(activations(model, test, classes));

        h.append("<h2>Misclassified test images</h2>\n<p>").append(figures.images() - figures.correct())
                .append(" of ").append(figures.images()).append(" test images are misclassified; the first ")
                .append(figures.mistakes().size()).append(", as predicted / true:</p>\n<div class=\"grid\">");
        for (int[] m : figures.mistakes()) {
            h.append("<div class=\"cell\">").append(pixelImg(sample(data, m[0]), 56)).append("<br><b>")
                    .append(esc(classes.get(m[1]))).append("</b><br>").append(esc(classes.get(m[2]))).append("</div>");
        }
        h.append("</div>\n</body></html>\n");

        Files.createDirectories(dir);
        Path page = dir.resolve("report.html");
        Path tmp = SafeTensors.writeTemporary(page, h.toString().getBytes(StandardCharsets.UTF_8));
        try {
            SafeTensors.commit(tmp, page);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return page;
    }

    /** Runs the model over the test data: the confusion matrix, the correct count and the first mistakes. */
    public static TestFigures measure(Sequential model, DataLoader test) {
        int k = model.outputShape().numel();
        int[][] cm = new int[k][k];
        List<int[]> mistakes = new ArrayList<>();
        int[] totals = new int[2];  // images, correct
        int[] order = test.order(0);
        Trainer.forEachBatch(model, test, (out, labels, y, n, first) -> {
            float[] logits = out.toFloatArray();
            for (int i = 0; i < n; i++) {
                int p = 0;
                for (int c = 1; c < k; c++) {
                    if (logits[i * k + c] > logits[i * k + p]) {
                        p = c;
                    }
                }
                cm[y[i]][p]++;
                if (p == y[i]) {
                    totals[1]++;
                } else if (mistakes.size() < MISTAKES) {
                    mistakes.add(new int[] {order[first + i], p, y[i]});
                }
            }
            totals[0] += n;
        });
        return new TestFigures(cm, totals[0], totals[1], mistakes);
    }

    private static String f4(double v) {
        return Double.isNaN(v) ? "" : String.format("%.4f", v);
    }

    private static XYChart curves(History history, String valName, String title, String what) {
        XYChart c = chart(title, what);
        int n = history.epochs().size();
        double[] x = new double[n], tr = new double[n], va = new double[n], t5 = new double[n];
        boolean hasVal = false, hasTop5 = false;
        for (int i = 0; i < n; i++) {
            EpochMetrics m = history.epochs().get(i);
            x[i] = m.epoch();
            tr[i] = what.equals("loss") ? m.trainLoss() : m.trainAccuracy();
            va[i] = what.equals("loss") ? m.valLoss() : m.valAccuracy();
            t5[i] = m.valTop5();
            hasVal |= !Double.isNaN(va[i]);
            hasTop5 |= !Double.isNaN(t5[i]);
        }
        if (n > 0) {
            c.addSeries("training", x, tr);
            if (hasVal) {
                c.addSeries(valName, x, va);
            }
            if (what.equals("accuracy") && hasTop5) {
                c.addSeries(valName + " top-5", x, t5);
            }
        }
        return c;
    }

    private static XYChart lrChart(History history) {
        XYChart c = chart("Learning rate", "learning rate");
        int n = history.epochs().size();
        double[] x = new double[n], y = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = history.epochs().get(i).epoch();
            y[i] = history.epochs().get(i).lr();
        }
        if (n > 0) {
            c.addSeries("at the epoch's last step", x, y);
        }
        return c;
    }

    private static XYChart chart(String title, String yTitle) {
        XYChart c = new XYChartBuilder().width(380).height(320).title(title).xAxisTitle("epoch").yAxisTitle(yTitle).build();
        c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        c.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
        c.getStyler().setChartBackgroundColor(Color.WHITE);
        c.getStyler().setXAxisDecimalPattern("0");
        return c;
    }

    private static String img(XYChart chart, String alt) {
        try {
            byte[] png = BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
            return "<img alt=\"" + alt + "\" src=\"data:image/png;base64," + Base64.getEncoder().encodeToString(png) + "\">";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String confusion(int[][] cm, List<String> classes) {
        int max = 1;
        for (int[] row : cm) {
            for (int v : row) {
                max = Math.max(max, v);
            }
        }
        StringBuilder b = new StringBuilder("<table class=\"cm\"><tr><th>true \\ predicted</th>");
        for (String c : classes) {
            b.append("<th>").append(esc(c)).append("</th>");
        }
        b.append("<th>recall</th></tr>\n");
        for (int i = 0; i < cm.length; i++) {
            b.append("<tr><th style=\"text-align:left\">").append(esc(classes.get(i))).append("</th>");
            int total = 0;
            for (int j = 0; j < cm.length; j++) {
                total += cm[i][j];
                double a = Math.sqrt((double) cm[i][j] / max);
                String bg = i == j ? String.format("rgba(40,120,220,%.2f)", a) : String.format("rgba(220,60,40,%.2f)", a);
                b.append("<td style=\"background:").append(bg).append(a > 0.6 ? ";color:#fff" : "").append("\">")
                        .append(cm[i][j]).append("</td>");
            }
            b.append(String.format("<td>%s</td></tr>\n", total == 0 ? "" : String.format("%.3f", (double) cm[i][i] / total)));
        }
        return b.append("</table>\n").toString();
    }

    /** Each output channel's kernel as an image (grey for one input channel, colour for three), scaled to its own range. */
    static List<BufferedImage> filters(Conv2d conv) {
        Tensor w = conv.parameters().get(0).value();
        int o = w.shape().dim(0), in = w.shape().dim(1), kh = w.shape().dim(2), kw = w.shape().dim(3);
        float[] v = w.toFloatArray();
        List<BufferedImage> out = new ArrayList<>();
        for (int f = 0; f < Math.min(o, 64); f++) {
            out.add(scaled(v, f * in * kh * kw, in == 3 ? 3 : 1, in * kh * kw, kh, kw));
        }
        return out;
    }

    /**
     * Values at {@code off} as an image of h x w: grey from one plane, or RGB from three planes
     * one after the other; the {@code span} values from {@code off} set the range mapped to 0..255.
     */
    private static BufferedImage scaled(float[] v, int off, int planes, int span, int h, int w) {
        float lo = Float.MAX_VALUE, hi = -Float.MAX_VALUE;
        for (int i = 0; i < span; i++) {
            lo = Math.min(lo, v[off + i]);
            hi = Math.max(hi, v[off + i]);
        }
        float range = hi > lo ? hi - lo : 1;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int rgb = 0;
                for (int c = 0; c < 3; c++) {
                    int src = off + (planes == 3 ? c * h * w : 0) + y * w + x;
                    rgb = (rgb << 8) | Math.round((v[src] - lo) / range * 255);
                }
                img.setRGB(x, y, rgb);
            }
        }
        return img;
    }

    /** A data set's sample as an image (grey or RGB). */
    static BufferedImage sample(Dataset d, int index) {
        Shape s = d.sampleShape();
        int c = s.dim(0), hh = s.dim(1), ww = s.dim(2);
        byte[] px = d.pixels();
        int base = index * d.sampleSize();
        BufferedImage img = new BufferedImage(ww, hh, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < hh; y++) {
            for (int x = 0; x < ww; x++) {
                int r = px[base + y * ww + x] & 0xff;
                int g = c >= 3 ? px[base + hh * ww + y * ww + x] & 0xff : r;
                int b = c >= 3 ? px[base + 2 * hh * ww + y * ww + x] & 0xff : r;
                img.setRGB(x, y, (r << 16) | (g << 8) | b);
            }
        }
        return img;
    }

    /**
     * For the first test images: the image and, after each convolution stage (a top-level
     * convolution or residual block, with the activation that follows it), its first channels
     * as grey maps, each scaled to its own range.
     */
    private static String activations(Sequential model, DataLoader test, List<String> classes) {
        Dataset d = test.dataset();
        int n = Math.min(ACTIVATION_IMAGES, d.size());
        int ss = d.sampleSize();
        float[][] lut = DataLoader.normalization(test.normalization().mean(), test.normalization().std(),
                d.sampleShape().dim(0));
        int plane = ss / lut.length;
        float[] in = new float[n * ss];
        for (int i = 0; i < n; i++) {
            for (int q = 0; q < ss; q++) {
                in[i * ss + q] = lut[q / plane][d.pixels()[i * ss + q] & 0xff];
            }
        }
        StringBuilder b = new StringBuilder();
        b.append("<p>The first ").append(n).append(" test images and the first ").append(ACTIVATION_CHANNELS)
                .append(" channels of each convolution stage's output (after its activation), each map scaled to its own range.</p>\n");
        List<Layer> layers = model.layers();
        List<String> stageNames = new ArrayList<>();
        List<float[]> stageMaps = new ArrayList<>();
        List<Shape> stageShapes = new ArrayList<>();
        try (Tensor x = model.backend().zeros(model.inputShape().withBatch(n), model.dtype())) {
            x.copyFrom(in);
            Tensor t = x;
            for (int i = 0; i < layers.size(); i++) {
                Layer l = layers.get(i);
                t = l.forward(t, false);
                boolean stage = l instanceof Conv2d || l instanceof Residual;
                if (stage && i + 1 < layers.size() && layers.get(i + 1) instanceof ActivationLayer) {
                    continue;  // shown after its activation
                }
                boolean afterStage = l instanceof ActivationLayer && i > 0
                        && (layers.get(i - 1) instanceof Conv2d || layers.get(i - 1) instanceof Residual);
                if ((stage || afterStage) && t.shape().rank() == 4) {
                    Layer named = afterStage ? layers.get(i - 1) : l;
                    stageNames.add("layer " + named.name() + " (" + named.type() + (afterStage ? " + " + l.type() : "")
                            + ") " + t.shape().dropBatch().toCompactString());
                    stageMaps.add(t.toFloatArray());
                    stageShapes.add(t.shape());
                }
            }
        }
        for (int i = 0; i < n; i++) {
            b.append("<h3 style=\"font-size:14px\">Test image ").append(i).append(" (").append(esc(classes.get(d.labels()[i])))
                    .append(")</h3>\n<div class=\"grid\">").append(pixelImg(sample(d, i), 84)).append("</div>\n");
            for (int s = 0; s < stageMaps.size(); s++) {
                Shape sh = stageShapes.get(s);
                int c = sh.dim(1), hh = sh.dim(2), ww = sh.dim(3);
                b.append("<div style=\"font-size:12px;margin-top:6px\">").append(esc(stageNames.get(s)))
                        .append("</div><div class=\"grid\" style=\"gap:4px\">");
                int size = Math.max(48, Math.min(84, hh * 3));
                for (int ch = 0; ch < Math.min(c, ACTIVATION_CHANNELS); ch++) {
                    b.append(pixelImg(scaled(stageMaps.get(s), ((i * c) + ch) * hh * ww, 1, hh * ww, hh, ww), size));
                }
                b.append("</div>\n");
            }
        }
        return b.toString();
    }

    private static String pixelImg(BufferedImage img, int size) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ImageIO.write(img, "png", out);
            double scale = (double) size / Math.max(img.getWidth(), img.getHeight());
            return String.format("<img class=\"pix\" width=\"%d\" height=\"%d\" src=\"data:image/png;base64,%s\">",
                    Math.round(img.getWidth() * scale), Math.round(img.getHeight() * scale),
                    Base64.getEncoder().encodeToString(out.toByteArray()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
