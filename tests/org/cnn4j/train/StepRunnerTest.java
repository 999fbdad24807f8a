package org.cnn4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.cnn4j.backend.Backend;
import org.cnn4j.backend.JavaBackend;
import org.cnn4j.backend.LossResult;
import org.cnn4j.nn.Dropout;
import org.cnn4j.nn.Flatten;
import org.cnn4j.nn.Linear;
import org.cnn4j.nn.Models;
import org.cnn4j.nn.Parameter;
import org.cnn4j.nn.Sequential;
import org.cnn4j.optim.Adam;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The queued training step on a backend that runs ops at once: the totals a step returns are
 * those of the step before it, they equal the loss computed directly, recorded steps (which
 * rerun here) change nothing, and a bad label is named with its step.
 */
class StepRunnerTest {

    private static float[] images(SplittableRandom rng, int n) {
        float[] x = new float[n * 28 * 28];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        return x;
    }

    @Test
    void eachStepReturnsTheTotalsOfTheStepBeforeIt() {
        SplittableRandom rng = new SplittableRandom(1);
        int n = 8;
        try (JavaBackend b = new JavaBackend(1);
             Sequential m = Models.lenet5().initialize(b, 7);
             Sequential twin = Models.lenet5().initialize(b, 7);
             Adam opt = new Adam(m.parameters(), 1e-3);
             Adam opt2 = new Adam(twin.parameters(), 1e-3);
             StepRunner r = new StepRunner(m, opt);
             Tensor x = b.zeros(Shape.of(n, 1, 28, 28));
             Tensor y = b.zeros(Shape.of(n), DType.INT32);
             Tensor d = b.zeros(Shape.of(n, 10))) {
            twin.setInputGradientRequired(false);
            List<Double> direct = new ArrayList<>();
            List<Double> queued = new ArrayList<>();
            for (int s = 0; s < 4; s++) {
                float[] xs = images(rng, n);
                int[] ys = rng.ints(n, 0, 10).toArray();
                StepRunner.Totals t = r.queue(xs, ys, n, 1e-3);
                if (s == 0) {
                    assertNull(t);
                } else {
                    assertEquals(s - 1, t.step());
                    queued.add(t.meanLoss());
                }
                // the same step by hand
                x.copyFrom(xs);
                y.copyFrom(ys);
                opt2.zeroGrad();
                LossResult lr = b.softmaxCrossEntropy(twin.forward(x, true), y, d);
                twin.backward(d);
                opt2.step();
                direct.add(lr.meanLoss());
            }
            StepRunner.Totals last = r.drain();
            assertNotNull(last);
            queued.add(last.meanLoss());
            assertNull(r.drain());
            for (int s = 0; s < 4; s++) {
                assertEquals(direct.get(s), queued.get(s), 1e-12, "step " + s);
            }
            List<Parameter> p1 = m.parameters(), p2 = twin.parameters();
            for (int i = 0; i < p1.size(); i++) {
                assertArrayEquals(p2.get(i).value().toFloatArray(), p1.get(i).value().toFloatArray());
            }
        }
    }

    private static List<float[]> weights(Backend b, boolean graphs) {
        SplittableRandom rng = new SplittableRandom(3);
        try (Sequential m = Models.lenet5().initialize(b, 5);
             Adam opt = new Adam(m.parameters(), 1e-3);
             StepRunner r = new StepRunner(m, opt).setGraphs(graphs)) {
            for (int s = 0; s < 5; s++) {
                int n = s == 4 ? 3 : 6;  // a short last batch has its own plan
                r.queue(images(rng, n), rng.ints(n, 0, 10).toArray(), n, 1e-3);
            }
            r.drain();
            assertFalse(r.replaysDeviceGraph(6), "the Java backend has no device graphs");
            List<float[]> w = new ArrayList<>();
            m.parameters().forEach(p -> w.add(p.value().toFloatArray()));
            return w;
        }
    }

    @Test
    void recordedStepsTrainLikeStepsRunOneByOne() {
        try (JavaBackend b = new JavaBackend(1)) {
            List<float[]> on = weights(b, true), off = weights(b, false);
            for (int i = 0; i < on.size(); i++) {
                assertArrayEquals(off.get(i), on.get(i), "parameter " + i);
            }
        }
    }

    @Test
    void aBadLabelIsNamedWithItsStep() {
        try (JavaBackend b = new JavaBackend(1);
             Sequential m = Models.lenet5().initialize(b, 5);
             Adam opt = new Adam(m.parameters(), 1e-3);
             StepRunner r = new StepRunner(m, opt)) {
            SplittableRandom rng = new SplittableRandom(3);
            int[] ys = {1, 2, 10, 3};
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> r.queue(images(rng, 4), ys, 4, 1e-3));
            assertTrue(e.getMessage().contains("label 10 at row 2"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> r.queue(images(rng, 4), new int[3], 4, 1e-3));
        }
    }

    @Test
    void dropoutKeepsStepsFromBeingRecorded() {
        try (JavaBackend b = new JavaBackend(1);
             Sequential m = new Sequential(Shape.of(1, 28, 28), new Flatten(), new Dropout(0.5), new Linear(10))
                     .initialize(b, 1);
             Adam opt = new Adam(m.parameters(), 1e-3);
             StepRunner r = new StepRunner(m, opt)) {
            assertFalse(m.replayable());
            assertTrue(r.graphNote().contains("dropout"), r.graphNote());
        }
        Dropout fixed = new Dropout(0.5).fixMask(true);
        assertTrue(fixed.replayable());
    }
}
