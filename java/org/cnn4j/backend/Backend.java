package org.cnn4j.backend;

import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.cnn4j.tensor.Window2d;

/**
 * The complete op set a model needs, implemented once per device (pure Java, native CPU,
 * CUDA). Layers call these ops and never branch on the backend.
 *
 * <p>Layouts: activations NCHW, convolution weights OIHW (O, C/groups, KH, KW), dense
 * weights (out, in). Accumulation rule: ops producing parameter gradients ({@code dw},
 * {@code dbias}) add into them; ops producing activation gradients ({@code dx}) overwrite.
 * Every op validates the shapes of its arguments and throws {@link IllegalArgumentException}
 * naming the op, the shapes seen and the shapes expected (once, for every backend, in
 * {@code ValidatingBackend}, the base of the implementations).
 */
public interface Backend extends AutoCloseable {

    /** Short name used on the command line: {@code java}, {@code cpu}, {@code cuda}. */
    String name();

    /** One line for humans: what runs, with how many threads or on which device. */
    String description();

    // ---- storage -------------------------------------------------------------------------

    /** A new tensor filled with zeros. */
    Tensor zeros(Shape shape, DType dtype);

    default Tensor zeros(Shape shape) {
        return zeros(shape, DType.FLOAT32);
    }

    default Tensor fromArray(Shape shape, float[] data) {
        Tensor t = zeros(shape, DType.FLOAT32);
        t.copyFrom(data);
        return t;
    }

    default Tensor fromArray(Shape shape, double[] data) {
        Tensor t = zeros(shape, DType.FLOAT64);
        t.copyFrom(data);
        return t;
    }

    default Tensor fromArray(Shape shape, int[] data) {
        Tensor t = zeros(shape, DType.INT32);
        t.copyFrom(data);
        return t;
    }

    /** Sets every element to {@code value}. */
    void fill(Tensor t, double value);

    /** dst = src (same shape and dtype). */
    void copy(Tensor src, Tensor dst);

    // ---- element-wise and reductions ------------------------------------------------------

    /** out = a + b (same shapes; out may alias a or b). */
    void add(Tensor a, Tensor b, Tensor out);

    /** y += alpha * x. */
    void axpy(double alpha, Tensor x, Tensor y);

    /** x *= alpha. */
    void scale(Tensor x, double alpha);

    /** Sum of all elements, accumulated in double precision. */
    double sum(Tensor x);

    /** Sum of squares of all elements, accumulated in double precision. */
    double sumOfSquares(Tensor x);

    // ---- convolution ----------------------------------------------------------------------

    /**
     * y[N,K,OH,OW] = conv2d(x[N,C,H,W], w[K,C/groups,KH,KW]) + bias[K] (bias may be null);
     * OH/OW from {@link Window2d}. Writes y.
     */
    void conv2dForward(Tensor x, Tensor w, Tensor bias, Tensor y, Window2d win, int groups);

    /** dx[N,C,H,W] = gradient of the convolution with respect to its input. Writes dx. */
    void conv2dBackwardData(Tensor dy, Tensor w, Tensor dx, Window2d win, int groups);

    /** dw += gradient with respect to the weights; dbias += sum of dy over N, OH, OW (may be null). */
    void conv2dBackwardFilter(Tensor x, Tensor dy, Tensor dw, Tensor dbias, Window2d win, int groups);

    // ---- pooling --------------------------------------------------------------------------

    /**
     * y[N,C,OH,OW] = max over each window of x[N,C,H,W]; argmax (INT32, y's shape, may be null
     * in inference) receives the winner's index ih*W+iw within its plane. Padding never wins.
     */
    void maxPool2dForward(Tensor x, Tensor y, Tensor argmax, Window2d win);

    /** dx = 0; dx[argmax] += dy (overlapping windows add up). Writes dx. */
    void maxPool2dBackward(Tensor dy, Tensor argmax, Tensor dx);

    /** y = mean of each window; with countIncludePad padding counts as zeros in the divisor. */
    void avgPool2dForward(Tensor x, Tensor y, Window2d win, boolean countIncludePad);

    /** dx = each window's dy spread evenly over its inputs. Writes dx. */
    void avgPool2dBackward(Tensor dy, Tensor dx, Window2d win, boolean countIncludePad);

    // ---- activations ----------------------------------------------------------------------

    /** y = act(x); alpha is the negative slope of leaky ReLU (ignored otherwise). y may alias x. */
    void activationForward(Activation act, double alpha, Tensor x, Tensor y);

    /** dx = dy * act'(x); ReLU family reads x, sigmoid and tanh read y = act(x). Writes dx. */
    void activationBackward(Activation act, double alpha, Tensor x, Tensor y, Tensor dy, Tensor dx);

    // ---- dense ----------------------------------------------------------------------------

    /**
     * c (+)= op(a) * op(b) on 2-D tensors, op = transpose when the flag is set; with
     * accumulate false c is overwritten.
     */
    void matmul(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c, boolean accumulate);

    /** y[N,O] = x[N,I] * w[O,I]^T + bias[O] (bias may be null). */
    default void linearForward(Tensor x, Tensor w, Tensor bias, Tensor y) {
        matmul(x, false, w, true, y, false);
        if (bias != null) {
            biasAdd(y, bias);
        }
    }

    /** dx[N,I] = dy[N,O] * w[O,I]. */
    default void linearBackwardData(Tensor dy, Tensor w, Tensor dx) {
        matmul(dy, false, w, false, dx, false);
    }

    /** dw[O,I] += dy^T * x; dbias[O] += column sums of dy (may be null). */
    default void linearBackwardWeights(Tensor x, Tensor dy, Tensor dw, Tensor dbias) {
        matmul(dy, true, x, false, dw, true);
        if (dbias != null) {
            biasGrad(dy, dbias);
        }
    }

    /** y[n, c, ...] += bias[c]: dimension 1 of y is the channel (or feature) dimension. */
    void biasAdd(Tensor y, Tensor bias);

    /** dbias[c] += sum of dy over every dimension but 1. */
    void biasGrad(Tensor dy, Tensor dbias);

    // ---- normalisation, dropout, maxout, channel copies (SPEC S3, S6.2, S7.4) --------------

    /**
     * Batch normalisation over dimension 1 of x (viewed as [outer, C, inner]; [N, C, H, W] or
     * [N, C]). With batchStats (training) it normalises with the batch mean and biased
     * variance, writes them to saveMean and saveInvStd = 1/sqrt(var + eps) ([C] each), and moves
     * runningMean/runningVar towards the batch mean and unbiased variance by momentum (PyTorch
     * semantics); without, it normalises with the running statistics (and writes those to
     * saveMean/saveInvStd). y = gamma * xhat + beta, plus residual when it is not null (a
     * residual block's shortcut, x's shape, added to the rounded value as {@link #add} would),
     * and with relu the ReLU of that: the add and the activation fused, each one pass over the
     * activations fewer, with the results of the separate ops. y may alias x only without
     * batchStats; it may alias residual.
     */
    void batchNormForward(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, Tensor y,
                          Tensor saveMean, Tensor saveInvStd, boolean batchStats, double momentum, double eps,
                          boolean relu, Tensor residual);

    /** {@link #batchNormForward} without a residual. */
    default void batchNormForward(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, Tensor y,
                                  Tensor saveMean, Tensor saveInvStd, boolean batchStats, double momentum, double eps,
                                  boolean relu) {
        batchNormForward(x, gamma, beta, runningMean, runningVar, y, saveMean, saveInvStd, batchStats, momentum, eps,
                relu, null);
    }

    /** {@link #batchNormForward} without the fused ReLU or residual. */
    default void batchNormForward(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, Tensor y,
                                  Tensor saveMean, Tensor saveInvStd, boolean batchStats, double momentum, double eps) {
        batchNormForward(x, gamma, beta, runningMean, runningVar, y, saveMean, saveInvStd, batchStats, momentum, eps,
                false);
    }

    /**
     * Gradients of {@link #batchNormForward} given its saved statistics: dgamma and dbeta are
     * added into, dx (may be null) is written; batchStats as in the forward call. reluY is the
     * forward's output when it fused the ReLU (dy then counts only where reluY > 0, as after the
     * ReLU's own backward pass), null otherwise.
     */
    void batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd, Tensor dx,
                           Tensor dgamma, Tensor dbeta, boolean batchStats, Tensor reluY);

    /** {@link #batchNormBackward} of a forward pass without the fused ReLU. */
    default void batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd, Tensor dx,
                                   Tensor dgamma, Tensor dbeta, boolean batchStats) {
        batchNormBackward(x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, batchStats, null);
    }

    /**
     * Dropout (SPEC S6.2): mask = 0 with probability p, else 1/(1-p), drawn from a counter-based
     * hash of (seed, element index) that every backend computes identically; y = x * mask.
     * 0 <= p < 1. y may alias x.
     */
    void dropoutForward(Tensor x, Tensor y, Tensor mask, double p, long seed);

    /** out = a * b element-wise (same shapes; out may alias a or b). */
    void multiply(Tensor a, Tensor b, Tensor out);

    /**
     * Maxout (SPEC S3) over groups of {@code pieces} consecutive channels: y[n, c, ...] = max over
     * j of x[n, c*pieces + j, ...]; argmax (INT32, y's shape) receives j. The first maximum wins
     * ties; a NaN wins over numbers.
     */
    void maxoutForward(Tensor x, Tensor y, Tensor argmax, int pieces);

    /** dx = 0, then dx[n, c*pieces + argmax, ...] = dy[n, c, ...]. Writes dx. */
    void maxoutBackward(Tensor dy, Tensor argmax, Tensor dx, int pieces);

    /**
     * Copies {@code count} channels: dst[n, dstOffset + c, ...] = src[n, srcOffset + c, ...];
     * src and dst agree in every dimension but 1. Other channels of dst are left as they are.
     */
    void copyChannels(Tensor src, int srcOffset, Tensor dst, int dstOffset, int count);

    // ---- loss and metrics -----------------------------------------------------------------

    /**
     * Fused, numerically stable softmax + cross-entropy over logits [N, classes] with INT32
     * labels [N]. Returns the mean loss over the batch and the number of rows whose arg-max is
     * the label; when dlogits is not null it receives the gradient of the mean loss,
     * (softmax - onehot) / N.
     */
    LossResult softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor dlogits);

    /**
     * The same loss, leaving its totals in {@code totals} (FLOAT64 [3]: the sum of the per-row
     * losses, the correct count, and -1 or the first row whose label is out of range) instead
     * of returning them: a device backend does not wait for the device, so the step can go
     * on being queued (and recorded in a {@link StepGraph}); read the totals with a
     * {@link Fetch}. The other backends compute at once (and throw for a bad label).
     */
    void softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor dlogits, Tensor totals);

    /** For logits [N, classes] writes the k best class indices per row, best first, into out [N, k] (INT32). */
    void topK(Tensor logits, int k, Tensor out);

    // ---- optimizer updates (one fused pass per parameter tensor) --------------------------

    /** SGD step, PyTorch semantics; velocity may be null when momentum is 0. */
    void sgdUpdate(Tensor param, Tensor grad, Tensor velocity, double lr, double momentum, double dampening,
                   boolean nesterov, double weightDecay, boolean firstStep);

    /** RMSProp step, PyTorch semantics (not centered); momentumBuffer may be null when momentum is 0. */
    void rmspropUpdate(Tensor param, Tensor grad, Tensor squareAvg, Tensor momentumBuffer, double lr,
                       double alpha, double eps, double weightDecay, double momentum);

    /** Adam (decoupled = false) or AdamW (decoupled = true) step; step counts from 1. */
    void adamUpdate(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2,
                    double eps, double weightDecay, boolean decoupled, long step);

    /** Frees what the backend holds (threads, device context). Tensors are closed by their owners. */
    @Override
    void close();

    // ---- queued execution: device backends overlap host and device work through these ----

    /** An uploader of host batches into {@code dst} (a tensor of this backend). */
    default Uploader uploader(Tensor dst) {
        return Uploader.direct(dst);
    }

    /** A deferred reader of {@code src}, a small tensor of this backend. */
    default Fetch fetch(Tensor src) {
        return Fetch.direct(src);
    }

    /**
     * Records the ops that {@code step} calls for replay. On CUDA this captures a CUDA graph:
     * the ops are recorded, not run (replay to run them), every tensor they touch must exist
     * before recording and stay open while the graph is used, and an op that waits for the
     * device (a read back to the host) makes recording fail with an exception that names it.
     * The default replays by running {@code step} again.
     */
    default StepGraph record(Runnable step) {
        return StepGraph.rerun(step);
    }
}
