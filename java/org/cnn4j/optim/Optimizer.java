package org.cnn4j.optim;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.cnn4j.backend.Backend;
import org.cnn4j.nn.Parameter;
import org.cnn4j.tensor.Tensor;

/**
 * Updates parameters from their gradients. Java decides (learning rate, step count, state
 * allocation); the backend executes one fused update op per parameter tensor. Optimizer state
 * (momentum buffers, moment estimates) lives on the parameters' backend and is freed by
 * {@link #close()}.
 *
 * <p>The learning rate given to the constructor is the run's base rate: a trainer's schedule
 * multiplies it ({@link Schedule}), so the rate is stated once. With
 * {@link #clipGradNorm(double)} every step first scales all gradients together so that
 * their global L2 norm is at most the limit (PyTorch's {@code clip_grad_norm_}). The state
 * ({@link #stateTensors()}, {@link #steps()}) is what a checkpoint saves to resume a run
 * exactly. Not thread-safe: one thread drives an optimizer.
 */
public abstract class Optimizer implements AutoCloseable {
    protected final List<Parameter> params;
    protected final Backend backend;
    private final Map<Parameter, List<Tensor>> state = new IdentityHashMap<>();
    private final double baseLr;
    private double lr;
    private long steps;
    private double clipNorm;
    private double lastNorm = Double.NaN;

    protected Optimizer(List<Parameter> params, double lr) {
        if (params.isEmpty()) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": no parameters to optimise");
        }
        if (!(lr > 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": learning rate must be > 0, got " + lr);
        }
        this.params = List.copyOf(params);
        this.backend = params.get(0).value().backend();
        this.lr = lr;
        this.baseLr = lr;
    }

    /** The learning rate the optimizer was made with: the one schedules scale. */
    public double baseLearningRate() {
        return baseLr;
    }

    /** The learning rate of the next step. */
    public double learningRate() {
        return lr;
    }

    public void setLearningRate(double lr) {
        this.lr = lr;
    }

    /** Number of steps taken so far. */
    public long steps() {
        return steps;
    }

    /** Sets the number of steps taken (a resumed run goes on counting from its checkpoint). */
    public void setSteps(long steps) {
        if (steps < 0) {
            throw new IllegalArgumentException("steps must be >= 0, got " + steps);
        }
        this.steps = steps;
    }

    /**
     * Clips gradients by their global L2 norm before every step: when the norm over all
     * parameters exceeds {@code maxNorm}, every gradient is multiplied by
     * {@code maxNorm / (norm + 1e-6)}. 0 turns clipping off.
     */
    public Optimizer clipGradNorm(double maxNorm) {
        if (!(maxNorm >= 0) || Double.isInfinite(maxNorm)) {
            throw new IllegalArgumentException("gradient clipping norm must be >= 0 and finite, got " + maxNorm);
        }
        this.clipNorm = maxNorm;
        return this;
    }

    /** The clipping limit (0: none). */
    public double gradNormLimit() {
        return clipNorm;
    }

    /** The global gradient norm measured by the last clipped step (NaN when not clipping). */
    public double lastGradNorm() {
        return lastNorm;
    }

    /** One update of every parameter from its current gradient (clipped first when asked). */
    public final void step() {
        if (clipNorm > 0) {
            double sq = 0;
            for (Parameter p : params) {
                sq += backend.sumOfSquares(p.grad());
            }
            lastNorm = Math.sqrt(sq);
            if (lastNorm > clipNorm) {
                double f = clipNorm / (lastNorm + 1e-6);
                for (Parameter p : params) {
                    backend.scale(p.grad(), f);
                }
            }
        }
        steps++;
        for (Parameter p : params) {
            update(p, steps);
        }
    }

    /** Clears every gradient. */
    public final void zeroGrad() {
        for (Parameter p : params) {
            backend.fill(p.grad(), 0);
        }
    }

    protected abstract void update(Parameter p, long step);

    /** How many state tensors (each of the parameter's shape) this optimizer keeps per parameter. */
    protected abstract int stateSlots();

    /**
     * The optimizer's state tensors by name ({@code <parameter>.<slot>}, e.g. {@code 0.weight.0}
     * for Adam's first moment), created (zeros) when missing; the tensors are live: copying
     * into them restores a saved state.
     */
    public final Map<String, Tensor> stateTensors() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        int slots = stateSlots();
        if (slots == 0) {
            return m;
        }
        for (Parameter p : params) {
            for (int i = 0; i < slots; i++) {
                m.put(p.name() + "." + i, state(p, i, slots));
            }
        }
        return m;
    }

    /** The i-th state tensor of a parameter (zeros, same shape), created on first use. */
    protected final Tensor state(Parameter p, int index, int count) {
        List<Tensor> s = state.get(p);
        if (s == null) {
            s = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                s.add(backend.zeros(p.value().shape(), p.value().dtype()));
            }
            state.put(p, s);
        }
        return s.get(index);
    }

    protected static double requireInRange(String what, double v, double lo, double hi) {
        if (!(v >= lo && v <= hi)) {
            throw new IllegalArgumentException(what + " must be in [" + lo + ", " + hi + "], got " + v);
        }
        return v;
    }

    @Override
    public void close() {
        for (List<Tensor> s : state.values()) {
            for (Tensor t : s) {
                t.close();
            }
        }
        state.clear();
    }
}
