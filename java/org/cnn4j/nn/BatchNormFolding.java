package org.cnn4j.nn;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.cnn4j.tensor.Tensor;

/**
 * Folds each batch norm that directly follows a convolution into that convolution, for
 * inference: with s = gamma / sqrt(running_var + eps), the convolution's weights become
 * {@code W * s} (per output channel) and its bias {@code (b - running_mean) * s + beta}, and the
 * batch norm layer disappears, which saves a full pass over the activations per layer. The
 * folded model computes what the original computes in evaluation mode (to rounding);
 * residual blocks are folded inside. It is a new model on the same backend; the original is
 * left as it is.
 */
public final class BatchNormFolding {
    private BatchNormFolding() {
    }

    /** A value to copy into the new model once it is initialised. */
    private interface Copy {
        void run();
    }

    /** Whether any batch norm (in residual blocks too) directly follows a convolution. */
    public static boolean applies(Sequential model) {
        return applies(model.layers());
    }

    private static boolean applies(List<Layer> ls) {
        for (int i = 0; i < ls.size(); i++) {
            if (ls.get(i) instanceof Conv2d && i + 1 < ls.size() && ls.get(i + 1) instanceof BatchNorm2d) {
                return true;
            }
            if (ls.get(i) instanceof Residual r && (applies(r.body()) || applies(r.shortcut()))) {
                return true;
            }
        }
        return false;
    }

    public static Sequential fold(Sequential model) {
        if (model.backend() == null) {
            throw new IllegalStateException("fold an initialised model");
        }
        List<Copy> copies = new ArrayList<>();
        List<Layer> layers = foldList(model.layers(), copies);
        Sequential out = new Sequential(model.inputShape(), model.isStrict(), layers);
        try {
            out.initialize(model.backend(), model.dtype(), 0);
            for (Copy c : copies) {
                c.run();
            }
            return out;
        } catch (RuntimeException | Error e) {
            out.close(); // the new model's tensors, also when initialising or copying fails
            throw e;
        }
    }

    private static List<Layer> foldList(List<Layer> in, List<Copy> copies) {
        List<Layer> out = new ArrayList<>();
        for (int i = 0; i < in.size(); i++) {
            Layer l = in.get(i);
            if (l instanceof Conv2d conv && i + 1 < in.size() && in.get(i + 1) instanceof BatchNorm2d bn) {
                Map<String, Object> cfg = new LinkedHashMap<>(conv.config());
                cfg.put("type", conv.type());
                cfg.put("bias", true);
                Conv2d folded = (Conv2d) Layers.fromConfig(cfg);
                copies.add(() -> foldInto(conv, bn, folded));
                out.add(folded);
                i++;
            } else if (l instanceof Residual r) {
                out.add(new Residual(foldList(r.body(), copies), foldList(r.shortcut(), copies)));
            } else {
                Map<String, Object> cfg = new LinkedHashMap<>(l.config());
                cfg.put("type", l.type());
                Layer copy = Layers.fromConfig(cfg);
                copies.add(() -> copyValues(l, copy));
                out.add(copy);
            }
        }
        return out;
    }

    private static void copyValues(Layer from, Layer to) {
        List<Parameter> a = from.parameters(), b = to.parameters();
        for (int k = 0; k < a.size(); k++) {
            b.get(k).value().copyFrom(a.get(k).value().toDoubleArray());
        }
        List<Tensor> sa = new ArrayList<>(from.persistentState().values());
        List<Tensor> sb = new ArrayList<>(to.persistentState().values());
        for (int k = 0; k < sa.size(); k++) {
            sb.get(k).copyFrom(sa.get(k).toDoubleArray());
        }
    }

    private static void foldInto(Conv2d conv, BatchNorm2d bn, Conv2d folded) {
        double[] w = conv.weight().value().toDoubleArray();
        int k = conv.weight().value().shape().dim(0);
        double[] b = conv.biasParameter() != null ? conv.biasParameter().value().toDoubleArray() : new double[k];
        double[] gamma = bn.weight().value().toDoubleArray(), beta = bn.bias().value().toDoubleArray();
        double[] mean = bn.runningMean().toDoubleArray(), var = bn.runningVar().toDoubleArray();
        int per = w.length / k;
        double[] nb = new double[k];
        for (int o = 0; o < k; o++) {
            double s = gamma[o] / Math.sqrt(var[o] + bn.epsilon());
            for (int q = 0; q < per; q++) {
                w[o * per + q] *= s;
            }
            nb[o] = (b[o] - mean[o]) * s + beta[o];
        }
        folded.weight().value().copyFrom(w);
        folded.biasParameter().value().copyFrom(nb);
    }
}
