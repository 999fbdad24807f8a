package org.cnn4j;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.ToDoubleFunction;
import org.cnn4j.backend.Backend;
import org.cnn4j.backend.JavaBackend;
import org.cnn4j.nn.Layer;
import org.cnn4j.nn.LeakyReLU;
import org.cnn4j.nn.MaxPool2d;
import org.cnn4j.nn.Parameter;
import org.cnn4j.nn.ReLU;
import org.cnn4j.nn.Sequential;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.cnn4j.tensor.Window2d;

/**
 * Finite-difference gradient checks in double precision.
 *
 * <p>A model (a {@link Sequential}, possibly wrapping a single layer) is initialised on a
 * {@link JavaBackend} in {@link DType#FLOAT64}. Its output y is turned into a scalar loss by a
 * {@link Head}; by default the random linear functional {@code L = sum(r * y)} with fixed random
 * r, so that {@code dL/dy = r}. The analytic gradients (one {@code backward} pass) of the input
 * and of every parameter are compared with central differences
 * {@code (L(v + eps) - L(v - eps)) / 2eps}, perturbing one value at a time.
 *
 * <p>Metric, per element: {@code |num - ana| / max(FLOOR, |num| + |ana|)}; the check passes when
 * the maximum over all elements is below {@link #TOLERANCE} (1e-6). The floor (1e-4) keeps
 * elements whose gradient is (nearly) zero from turning round-off into a large relative error:
 * for them the test is an absolute one, |num - ana| < 1e-10. With eps = 1e-5 the central
 * difference is exact up to round-off for the piecewise-linear ops (convolution, pooling, ReLU,
 * dense) and has a truncation error of order eps^2 = 1e-10 for sigmoid and tanh; any indexing
 * error in a kernel shows up as a relative error of order 1.
 *
 * <p>Kinks: ReLU and max pooling are not differentiable where an input is 0 or where a window
 * has a tie. Callers draw inputs away from those points ({@link #awayFromZero},
 * {@link #distinctValues}) or verify with {@link #kinkMargin} that every ReLU input and every
 * max-pool window is at least {@link #KINK_MARGIN} away from a kink, much more than an eps
 * perturbation can move a value.
 */
public final class GradCheck {
    public static final double EPS = 1e-5;
    public static final double FLOOR = 1e-4;
    public static final double TOLERANCE = 1e-6;
    public static final double KINK_MARGIN = 1e-3;

    private GradCheck() {
    }

    /** A scalar loss on the model output. */
    public interface Head {
        /** dL/dy at output y. */
        double[] gradient(double[] y);

        /** L(yPlus) - L(yMinus), computed as accurately as possible. */
        double difference(double[] yPlus, double[] yMinus);
    }

    /** L = sum(r * y): dL/dy = r. The difference sums r * (y+ - y-), so unaffected outputs cancel exactly. */
    public static Head linearFunctional(double[] r) {
        return new Head() {
            @Override
            public double[] gradient(double[] y) {
                if (y.length != r.length) {
                    throw new IllegalArgumentException("output has " + y.length + " values, r has " + r.length);
                }
                return r.clone();
            }

            @Override
            public double difference(double[] yPlus, double[] yMinus) {
                double acc = 0;
                for (int j = 0; j < r.length; j++) {
                    acc += r[j] * (yPlus[j] - yMinus[j]);
                }
                return acc;
            }
        };
    }

    /**
     * The mean softmax cross-entropy of logits [N, classes] (the model output) against labels,
     * computed by {@link Backend#softmaxCrossEntropy}; its gradient is the backend's dlogits.
     */
    public static Head softmaxCrossEntropy(Backend be, Shape logitsShape, int[] labels) {
        return new Head() {
            private double loss(double[] y, double[] grad) {
                try (Tensor logits = be.fromArray(logitsShape, y);
                     Tensor lab = be.fromArray(Shape.of(labels.length), labels);
                     Tensor d = be.zeros(logitsShape, DType.FLOAT64)) {
                    double l = be.softmaxCrossEntropy(logits, lab, grad == null ? null : d).meanLoss();
                    if (grad != null) {
                        System.arraycopy(d.toDoubleArray(), 0, grad, 0, grad.length);
                    }
                    return l;
                }
            }

            @Override
            public double[] gradient(double[] y) {
                double[] g = new double[y.length];
                loss(y, g);
                return g;
            }

            @Override
            public double difference(double[] yPlus, double[] yMinus) {
                return loss(yPlus, null) - loss(yMinus, null);
            }
        };
    }

    /** The outcome of one check: the worst element's error and where it is, per tensor. */
    public record Report(double maxError, String worst, Map<String, Double> errorByTensor,
                         double maxAbsInputGradient, Map<String, Double> maxAbsParamGradient) {

        /** Fails unless every element is within {@link #TOLERANCE}. */
        public Report assertOk(String what) {
            assertTrue(maxError < TOLERANCE, () -> what + ": gradient check failed, max error " + maxError
                    + " at " + worst + " (tolerance " + TOLERANCE + "); per tensor " + errorByTensor);
            return this;
        }
    }

    /** Runs the check of {@code model} at input {@code x} with the linear functional of random r (seeded). */
    public static Report check(Sequential model, Tensor x, long seed) {
        Shape out = model.outputShape().withBatch(x.shape().dim(0));
        double[] r = uniform(new SplittableRandom(seed ^ 0x5DEECE66DL), out.numel(), -1, 1);
        return check(model, x, linearFunctional(r));
    }

    /** Runs the check of {@code model} (initialised on a FLOAT64 JavaBackend) at input {@code x}. */
    public static Report check(Sequential model, Tensor x, Head head) {
        if (model.dtype() != DType.FLOAT64 || x.dtype() != DType.FLOAT64) {
            throw new IllegalArgumentException("gradient checks run in FLOAT64");
        }
        Backend be = model.backend();

        // Analytic gradients: one forward and one backward pass.
        model.zeroGrad();
        Tensor y = model.forward(x, true);
        double[] dyValues = head.gradient(y.toDoubleArray());
        Shape yShape = y.shape();
        Map<String, double[]> analytic = new LinkedHashMap<>();
        try (Tensor dy = be.fromArray(yShape, dyValues)) {
            Tensor dx = model.backward(dy);
            if (!dx.shape().equals(x.shape())) {
                throw new AssertionError("input gradient has shape " + dx.shape() + ", input has " + x.shape());
            }
            analytic.put("input", dx.toDoubleArray());
        }
        for (Parameter p : model.parameters()) {
            analytic.put(p.name(), p.grad().toDoubleArray());
        }

        // Numerical gradients, one perturbed value at a time.
        Map<String, double[]> numeric = new LinkedHashMap<>();
        numeric.put("input", numericGradient(model, x, x, head));
        for (Parameter p : model.parameters()) {
            numeric.put(p.name(), numericGradient(model, x, p.value(), head));
        }

        double maxError = 0;
        String worst = "nowhere";
        Map<String, Double> byTensor = new LinkedHashMap<>();
        Map<String, Double> maxAbsParam = new LinkedHashMap<>();
        for (Map.Entry<String, double[]> e : analytic.entrySet()) {
            double[] ana = e.getValue();
            double[] num = numeric.get(e.getKey());
            double tensorMax = 0;
            for (int i = 0; i < ana.length; i++) {
                double err = elementError(num[i], ana[i]);
                if (!(err <= tensorMax)) { // NaN counts as the worst
                    tensorMax = err;
                }
                if (!(err <= maxError)) {
                    maxError = err;
                    worst = e.getKey() + "[" + i + "] numeric " + num[i] + " analytic " + ana[i];
                }
            }
            byTensor.put(e.getKey(), tensorMax);
            if (!e.getKey().equals("input")) {
                maxAbsParam.put(e.getKey(), maxAbs(num));
            }
        }
        return new Report(maxError, worst, byTensor, maxAbs(numeric.get("input")), maxAbsParam);
    }

    /** |num - ana| / max(FLOOR, |num| + |ana|). */
    public static double elementError(double num, double ana) {
        return Math.abs(num - ana) / Math.max(FLOOR, Math.abs(num) + Math.abs(ana));
    }

    /** The maximum of {@link #elementError} over two arrays of the same length. */
    public static double maxError(double[] num, double[] ana) {
        if (num.length != ana.length) {
            throw new IllegalArgumentException(num.length + " vs " + ana.length + " values");
        }
        double m = 0;
        for (int i = 0; i < num.length; i++) {
            double e = elementError(num[i], ana[i]);
            if (!(e <= m)) {
                m = e;
            }
        }
        return m;
    }

    /** Central differences of a scalar function of a vector. */
    public static double[] numericGradient(ToDoubleFunction<double[]> f, double[] x) {
        double[] v = x.clone();
        double[] g = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            double orig = v[i];
            double plus = orig + EPS, minus = orig - EPS;
            v[i] = plus;
            double fp = f.applyAsDouble(v.clone());
            v[i] = minus;
            double fm = f.applyAsDouble(v.clone());
            v[i] = orig;
            g[i] = (fp - fm) / (plus - minus);
        }
        return g;
    }

    private static double[] numericGradient(Sequential model, Tensor x, Tensor target, Head head) {
        double[] v = target.toDoubleArray();
        double[] g = new double[v.length];
        Consumer<double[]> set = target::copyFrom;
        for (int i = 0; i < v.length; i++) {
            double orig = v[i];
            double plus = orig + EPS, minus = orig - EPS;
            v[i] = plus;
            set.accept(v);
            double[] yp = model.forward(x, true).toDoubleArray();
            v[i] = minus;
            set.accept(v);
            double[] ym = model.forward(x, true).toDoubleArray();
            v[i] = orig;
            set.accept(v);
            g[i] = head.difference(yp, ym) / (plus - minus);
        }
        return g;
    }

    // ---- inputs and parameters ------------------------------------------------------------

    public static double[] uniform(SplittableRandom rng, int n, double lo, double hi) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = lo + (hi - lo) * rng.nextDouble();
        }
        return v;
    }

    /** Values with |v| in [0.05, 1], random sign: far from ReLU's kink at 0. */
    public static double[] awayFromZero(SplittableRandom rng, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            double mag = 0.05 + 0.95 * rng.nextDouble();
            v[i] = rng.nextBoolean() ? mag : -mag;
        }
        return v;
    }

    /**
     * A random permutation of n evenly spaced values in (-1, 1) (spacing 2/n), none closer
     * than 1/n to 0: no ties anywhere, so every max-pool window has a unique winner.
     */
    public static double[] distinctValues(SplittableRandom rng, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = -1 + (2.0 * i + 1) / n;
            if (Math.abs(v[i]) < 0.5 / n) {
                v[i] += 0.5 / n;
            }
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            double t = v[i];
            v[i] = v[j];
            v[j] = t;
        }
        return v;
    }

    /** A FLOAT64 tensor on {@code be} holding {@code data}. */
    public static Tensor tensor(Backend be, Shape shape, double[] data) {
        return be.fromArray(shape, data);
    }

    /** Overwrites every parameter with values drawn uniformly from [-scale, scale]. */
    public static void randomizeParameters(Sequential model, long seed, double scale) {
        SplittableRandom rng = new SplittableRandom(seed);
        for (Parameter p : model.parameters()) {
            p.value().copyFrom(uniform(rng, p.value().numel(), -scale, scale));
        }
    }

    /** A model of one layer, initialised in FLOAT64 with random parameters in [-0.5, 0.5]. */
    public static Sequential single(Backend be, Shape inputShape, Layer layer, long seed) {
        Sequential m = new Sequential(inputShape, layer).initialize(be, DType.FLOAT64, seed);
        randomizeParameters(m, seed + 1, 0.5);
        return m;
    }

    public static List<String> parameterNames(Sequential model) {
        List<String> names = new ArrayList<>();
        for (Parameter p : model.parameters()) {
            names.add(p.name());
        }
        return names;
    }

    // ---- kinks ----------------------------------------------------------------------------

    /**
     * Runs the model layer by layer at x and returns the smallest distance to a kink: the
     * smallest |input| of any ReLU/LeakyReLU and the smallest gap between the largest and the
     * second-largest value of any max-pool window (padding excluded).
     */
    public static double kinkMargin(Sequential model, Tensor x) {
        double margin = Double.POSITIVE_INFINITY;
        Tensor t = x;
        Layer previous = null;
        for (Layer layer : model.layers()) {
            if (layer instanceof ReLU || layer instanceof LeakyReLU) {
                margin = Math.min(margin, minAbs(t.toDoubleArray()));
            } else if (layer instanceof MaxPool2d mp) {
                margin = Math.min(margin, poolGap(t, mp.window(), previous instanceof ReLU));
            }
            t = layer.forward(t, true);
            previous = layer;
        }
        return margin;
    }

    private static double minAbs(double[] v) {
        double m = Double.POSITIVE_INFINITY;
        for (double d : v) {
            m = Math.min(m, Math.abs(d));
        }
        return m;
    }

    /** Smallest (largest - second largest) over all windows of an NCHW tensor. */
    public static double poolGap(Tensor t, Window2d win) {
        return poolGap(t, win, false);
    }

    /**
     * Like {@link #poolGap(Tensor, Window2d)}; with {@code afterRelu}, windows whose two largest
     * values are both exactly 0 are skipped: they are ReLU outputs of inputs at least the ReLU
     * margin below 0, which stay 0 under any eps perturbation, and their gradient is 0 whichever
     * of them wins.
     */
    public static double poolGap(Tensor t, Window2d win, boolean afterRelu) {
        Shape s = t.shape();
        int planes = s.dim(0) * s.dim(1), h = s.dim(2), w = s.dim(3);
        double[] v = t.toDoubleArray();
        double gap = Double.POSITIVE_INFINITY;
        for (int p = 0; p < planes; p++) {
            for (int i = 0; i < win.outH(h); i++) {
                for (int j = 0; j < win.outW(w); j++) {
                    double best = Double.NEGATIVE_INFINITY, second = Double.NEGATIVE_INFINITY;
                    for (int a = 0; a < win.kernelH(); a++) {
                        for (int b = 0; b < win.kernelW(); b++) {
                            int ih = i * win.strideH() - win.padTop() + a * win.dilationH();
                            int iw = j * win.strideW() - win.padLeft() + b * win.dilationW();
                            if (ih < 0 || ih >= h || iw < 0 || iw >= w) {
                                continue;
                            }
                            double x = v[p * h * w + ih * w + iw];
                            if (x > best) {
                                second = best;
                                best = x;
                            } else if (x > second) {
                                second = x;
                            }
                        }
                    }
                    if (afterRelu && best == 0 && second == 0) {
                        continue;
                    }
                    if (second > Double.NEGATIVE_INFINITY) {
                        gap = Math.min(gap, best - second);
                    }
                }
            }
        }
        return gap;
    }

    public static double maxAbs(double[] v) {
        double m = 0;
        for (double d : v) {
            m = Math.max(m, Math.abs(d));
        }
        return m;
    }
}
