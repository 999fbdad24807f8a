package org.cnn4j.optim;

import java.util.List;
import org.cnn4j.nn.Parameter;

/** RMSProp (PyTorch semantics, not centered): divides by a running RMS of the gradient. */
public final class RmsProp extends Optimizer {
    private final double alpha, eps, weightDecay, momentum;

    /** PyTorch's defaults: alpha 0.99, eps 1e-8, no weight decay, no momentum. */
    public RmsProp(List<Parameter> params, double lr) {
        this(params, lr, 0.99, 1e-8, 0, 0);
    }

    public RmsProp(List<Parameter> params, double lr, double alpha, double eps, double weightDecay, double momentum) {
        super(params, lr);
        this.alpha = requireInRange("alpha", alpha, 0, 1);
        this.eps = requireInRange("eps", eps, 0, 1);
        this.weightDecay = requireInRange("weight decay", weightDecay, 0, Double.MAX_VALUE);
        this.momentum = requireInRange("momentum", momentum, 0, 1);
    }

    @Override
    protected void update(Parameter p, long step) {
        backend.rmspropUpdate(p.value(), p.grad(), state(p, 0, 2), momentum > 0 ? state(p, 1, 2) : null,
                learningRate(), alpha, eps, weightDecay, momentum);
    }

    @Override
    protected int stateSlots() {
        return 2;
    }
}
