package org.cnn4j.nn;

import java.util.Map;
import java.util.SplittableRandom;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;

/** Dense layer y = x W^T + b (SPEC S4.2), weight [out, in]. The input size is inferred. */
public final class Linear extends Layer {
    private final int outFeatures;
    private int inFeatures = -1;
    private boolean bias = true;
    private Init init = Init.HE_UNIFORM;

    private int in;
    private Parameter weight, biasParam;
    private Tensor input;

    public Linear(int outFeatures) {
        if (outFeatures < 1) {
            throw new IllegalArgumentException("Linear: output features must be >= 1, got " + outFeatures);
        }
        this.outFeatures = outFeatures;
    }

    /** States the expected input size, to have it checked. */
    public Linear inFeatures(int n) {
        this.inFeatures = n;
        return this;
    }

    public Linear bias(boolean b) {
        this.bias = b;
        return this;
    }

    public Linear init(Init i) {
        this.init = i;
        return this;
    }

    public Parameter weight() {
        return weight;
    }

    public Parameter biasParameter() {
        return biasParam;
    }

    @Override
    public String type() {
        return "Linear";
    }

    @Override
    public Map<String, Object> config() {
        return configOf("out_features", outFeatures, "in_features", in, "bias", bias, "init", init.name());
    }

    @Override
    protected Shape inferOutputShape(Shape input) {
        if (input.rank() != 1) {
            throw shapeError("expects a flat input of features, got " + input.toCompactString()
                    + " (add a Flatten layer before it)");
        }
        in = input.dim(0);
        if (inFeatures >= 0 && inFeatures != in) {
            throw shapeError("declared " + inFeatures + " input features, but its input has " + in);
        }
        return Shape.of(outFeatures);
    }

    @Override
    public long parameterCount() {
        return (long) outFeatures * in + (bias ? outFeatures : 0);
    }

    @Override
    public String details() {
        return in + "->" + outFeatures + (bias ? "" : " no-bias");
    }

    @Override
    protected void createParameters(SplittableRandom rng) {
        double[] w = new double[outFeatures * in];
        init.fill(w, in, outFeatures, rng);
        weight = addParameter("weight", Shape.of(outFeatures, in), w);
        biasParam = bias ? addParameter("bias", Shape.of(outFeatures), init.bias(outFeatures, in, rng)) : null;
    }

    @Override
    public Tensor forward(Tensor x, boolean training) {
        checkInput(x);
        input = x;
        Tensor y = buffer("y", Shape.of(x.shape().dim(0), outFeatures));
        backend.linearForward(x, weight.value(), biasParam == null ? null : biasParam.value(), y);
        return y;
    }

    @Override
    public Tensor backward(Tensor dy) {
        if (input == null) {
            throw new IllegalStateException(name() + ": backward() before forward()");
        }
        backend.linearBackwardWeights(input, dy, weight.grad(), biasParam == null ? null : biasParam.grad());
        if (!inputGradientRequired()) {
            return null;
        }
        Tensor dx = buffer("dx", input.shape());
        backend.linearBackwardData(dy, weight.value(), dx);
        return dx;
    }
}
