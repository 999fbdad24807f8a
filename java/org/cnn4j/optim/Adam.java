package org.cnn4j.optim;

import java.util.List;
import org.cnn4j.nn.Parameter;

/**
 * Adam, and AdamW when {@code decoupled} (weight decay applied to the weights directly, not
 * through the gradient). PyTorch semantics and defaults: betas (0.9, 0.999), eps 1e-8.
 */
public final class Adam extends Optimizer {
    private final double beta1, beta2, eps, weightDecay;
    private final boolean decoupled;

    public Adam(List<Parameter> params, double lr) {
        this(params, lr, 0.9, 0.999, 1e-8, 0, false);
    }

    public Adam(List<Parameter> params, double lr, double beta1, double beta2, double eps, double weightDecay,
                boolean decoupled) {
        super(params, lr);
        this.beta1 = requireInRange("beta1", beta1, 0, 1 - 1e-12);
        this.beta2 = requireInRange("beta2", beta2, 0, 1 - 1e-12);
        this.eps = requireInRange("eps", eps, 0, 1);
        this.weightDecay = requireInRange("weight decay", weightDecay, 0, Double.MAX_VALUE);
        this.decoupled = decoupled;
    }

    /** AdamW with PyTorch's default weight decay of 0.01. */
    public static Adam adamW(List<Parameter> params, double lr) {
        return new Adam(params, lr, 0.9, 0.999, 1e-8, 0.01, true);
    }

    @Override
    protected void update(Parameter p, long step) {
        backend.adamUpdate(p.value(), p.grad(), state(p, 0, 2), state(p, 1, 2), learningRate(), beta1, beta2, eps,
                weightDecay, decoupled, step);
    }

    @Override
    protected int stateSlots() {
        return 2;
    }
}
