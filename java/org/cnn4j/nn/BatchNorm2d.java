package org.cnn4j.nn;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;

/**
 * Batch normalisation over the channels of a C x H x W input (or the features of a vector
 * input), PyTorch's {@code BatchNorm2d}/{@code BatchNorm1d}: in training mode each channel is
 * normalised with the batch's mean and variance and the running statistics move by
 * {@code momentum}; in evaluation mode the running statistics are used. Learnable scale
 * ({@code weight}, initialised to 1) and shift ({@code bias}, 0); {@code running_mean} and
 * {@code running_var} are saved with the model.
 */
public final class BatchNorm2d extends Layer {
    private double momentum = 0.1;
    private double eps = 1e-5;
    private Parameter weight;
    private Parameter bias;
    private Tensor runningMean;
    private Tensor runningVar;
    private Tensor x;
    private Tensor y;
    private boolean batchStats;
    private boolean fusedRelu;  // the ReLU that follows runs inside this layer's passes (Layers.fuse)

    public BatchNorm2d momentum(double m) {
        if (!(m >= 0 && m <= 1)) {
            throw new IllegalArgumentException("momentum must be in [0, 1], got " + m);
        }
        this.momentum = m;
        return this;
    }

    public BatchNorm2d eps(double e) {
        if (!(e > 0)) {
            throw new IllegalArgumentException("eps must be > 0, got " + e);
        }
        this.eps = e;
        return this;
    }

    public Parameter weight() {
        return weight;
    }

    public Parameter bias() {
        return bias;
    }

    public Tensor runningMean() {
        return runningMean;
    }

    public Tensor runningVar() {
        return runningVar;
    }

    public double epsilon() {
        return eps;
    }

    @Override
    public String type() {
        return "BatchNorm2d";
    }

    @Override
    public Map<String, Object> config() {
        return configOf("momentum", momentum, "eps", eps);
    }

    @Override
    protected Shape inferOutputShape(Shape input) {
        if (input.rank() != 3 && input.rank() != 1) {
            throw shapeError("expects a C x H x W or a feature-vector input, got " + input.toCompactString());
        }
        return input;
    }

    private int channels() {
        return inputShape().dim(0);
    }

    @Override
    public long parameterCount() {
        return 2L * channels();
    }

    @Override
    protected void createParameters(SplittableRandom rng) {
        int c = channels();
        double[] ones = new double[c];
        Arrays.fill(ones, 1);
        weight = addParameter("weight", Shape.of(c), ones);
        bias = addParameter("bias", Shape.of(c), new double[c]);
        runningMean = buffer("running_mean", Shape.of(c));
        runningVar = buffer("running_var", Shape.of(c));
        backend.fill(runningMean, 0);
        backend.fill(runningVar, 1);
    }

    @Override
    public Map<String, Tensor> persistentState() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put(name() + ".running_mean", runningMean);
        m.put(name() + ".running_var", runningVar);
        return m;
    }

    @Override
    public String details() {
        return "eps=" + eps + " momentum=" + momentum;
    }

    /**
     * Whether the ReLU layer that directly follows runs inside this layer's forward and
     * backward passes (then this layer's output is the ReLU's, and the ReLU passes it on).
     */
    public boolean fusedRelu() {
        return fusedRelu;
    }

    void fuseRelu(boolean on) {
        fusedRelu = on;
    }

    @Override
    public Tensor forward(Tensor x, boolean training) {
        return forward(x, training, fusedRelu, null);
    }

    private Tensor forward(Tensor x, boolean training, boolean relu, Tensor shortcut) {
        checkInput(x);
        this.x = x;
        this.batchStats = training;
        Shape c = Shape.of(channels());
        y = buffer("y", x.shape());
        backend.batchNormForward(x, weight.value(), bias.value(), runningMean, runningVar, y, buffer("mean", c),
                buffer("inv_std", c), training, momentum, eps, relu, shortcut);
        return y;
    }

    /**
     * The forward pass of the last layer of a residual block's body when the block runs the ReLU
     * after it (see {@code Layers.fuse}): y = ReLU(batch norm of x + shortcut), the block's add
     * and the activation inside this layer's pass. The backward pass is the plain one: the block
     * masks the gradient, which its shortcut needs too.
     */
    Tensor forwardAdding(Tensor x, Tensor shortcut, boolean training) {
        return forward(x, training, true, shortcut);
    }

    @Override
    public Tensor backward(Tensor dy) {
        Shape c = Shape.of(channels());
        Tensor dx = inputGradientRequired() ? buffer("dx", x.shape()) : null;
        backend.batchNormBackward(x, dy, weight.value(), buffer("mean", c), buffer("inv_std", c), dx, weight.grad(),
                bias.grad(), batchStats, fusedRelu ? y : null);
        return dx;
    }
}
