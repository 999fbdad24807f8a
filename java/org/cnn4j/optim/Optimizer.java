package org.cnn4j.optim;

import java.util.ArrayList;
import java.util.IdentityHashMap;
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
 */
public abstract class Optimizer implements AutoCloseable {
    protected final List<Parameter> params;
    protected final Backend backend;
    private final Map<Parameter, List<Tensor>> state = new IdentityHashMap<>();
    private double lr;
    private long steps;

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
    }

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

    /** One update of every parameter from its current gradient. */
    public final void step() {
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
