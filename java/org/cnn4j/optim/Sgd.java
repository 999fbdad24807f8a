package org.cnn4j.optim;

import java.util.List;
import org.cnn4j.nn.Parameter;

/** Stochastic gradient descent with optional momentum, dampening, Nesterov and L2 weight decay (PyTorch semantics). */
public final class Sgd extends Optimizer {
    private final double momentum, dampening, weightDecay;
    private final boolean nesterov;

    public Sgd(List<Parameter> params, double lr) {
        this(params, lr, 0, 0, false, 0);
    }

    public Sgd(List<Parameter> params, double lr, double momentum, double dampening, boolean nesterov,
               double weightDecay) {
        super(params, lr);
        this.momentum = requireInRange("momentum", momentum, 0, 1);
        this.dampening = requireInRange("dampening", dampening, 0, 1);
        this.weightDecay = requireInRange("weight decay", weightDecay, 0, Double.MAX_VALUE);
        if (nesterov && (momentum <= 0 || dampening != 0)) {
            throw new IllegalArgumentException("Nesterov momentum needs momentum > 0 and dampening 0");
        }
        this.nesterov = nesterov;
    }

    @Override
    protected void update(Parameter p, long step) {
        backend.sgdUpdate(p.value(), p.grad(), momentum > 0 ? state(p, 0, 1) : null, learningRate(), momentum,
                dampening, nesterov, weightDecay, step == 1);
    }

    @Override
    protected int stateSlots() {
        return momentum > 0 ? 1 : 0;
    }
}
