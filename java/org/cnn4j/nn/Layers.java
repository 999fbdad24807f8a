package org.cnn4j.nn;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.cnn4j.tensor.Shape;

/** Recreates layers and models from the settings that {@link Sequential#architecture()} writes. */
public final class Layers {
    private Layers() {
    }

    public static Sequential sequentialFromArchitecture(Map<String, Object> arch) {
        Object format = arch.get("format");
        if (!"cnn4j-sequential".equals(format)) {
            throw new IllegalArgumentException("not a cnn4j architecture: format is " + format
                    + ", expected cnn4j-sequential");
        }
        List<?> in = list(arch, "input_shape");
        if (in.size() > 8) {
            throw new IllegalArgumentException("input_shape has " + in.size() + " dimensions");
        }
        int[] dims = new int[in.size()];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = num(in, i, "input_shape");
        }
        List<Layer> layers = fromConfigs(arch, "layers");
        boolean strict = Boolean.TRUE.equals(arch.get("strict"));
        return new Sequential(Shape.of(dims), strict, layers);
    }

    /**
     * Whether adjacent layers share passes ({@code -Dcnn4j.fuse=false} turns it off, to compare):
     * a batch norm directly followed by a ReLU runs the ReLU inside its own passes; a residual
     * block whose body ends with a batch norm, directly followed by a ReLU, has that batch norm
     * add the shortcut and run the ReLU in its pass (the block's gradient masked once, in the
     * block); a ReLU directly followed by max pooling runs after the pooling instead, on a
     * quarter of the values for 2x2 windows (the maximum of the activations is the activation
     * of the maximum, and the gradient reaches the same input). The results are those of the
     * layers run one after the other, except where a pooling window holds a NaN (the pooling
     * then gives 0 where the unfused pair gives the window's largest positive number).
     */
    static final boolean FUSE = !"false".equalsIgnoreCase(System.getProperty("cnn4j.fuse", "true"));

    /**
     * Pairs each batch norm with the ReLU that directly follows it in this list of built layers,
     * then each residual block that allows it with the ReLU that directly follows it, then each
     * ReLU left with the max pooling that directly follows it, and unpairs every other.
     */
    static void fuse(List<Layer> layers) {
        for (Layer l : layers) {
            if (l instanceof BatchNorm2d bn) {
                bn.fuseRelu(false);
            }
            if (l instanceof Residual r) {
                r.fuseRelu(false);
            }
            if (l instanceof MaxPool2d pool) {
                pool.reluFirst(false);
            }
            if (l instanceof ActivationLayer a) {
                a.fuse(false);
            }
        }
        if (!FUSE) {
            return;
        }
        for (int i = 0; i + 1 < layers.size(); i++) {
            if (layers.get(i) instanceof BatchNorm2d bn && layers.get(i + 1) instanceof ReLU relu) {
                bn.fuseRelu(true);
                relu.fuse(true);
            }
        }
        for (int i = 0; i + 1 < layers.size(); i++) {
            if (layers.get(i) instanceof Residual r && layers.get(i + 1) instanceof ReLU relu && r.fuseRelu(true)) {
                relu.fuse(true);
            }
        }
        for (int i = 0; i + 1 < layers.size(); i++) {
            if (layers.get(i) instanceof ReLU relu && !relu.fused() && layers.get(i + 1) instanceof MaxPool2d pool) {
                pool.reluFirst(true);
                relu.fuse(true);
            }
        }
    }

    /** Each layer's type and settings, as {@link #fromConfig} reads them back. */
    public static List<Map<String, Object>> describe(List<Layer> layers) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Layer layer : layers) {
            Map<String, Object> l = new java.util.LinkedHashMap<>();
            l.put("type", layer.type());
            l.putAll(layer.config());
            out.add(l);
        }
        return out;
    }

    private static List<Layer> fromConfigs(Map<String, Object> c, String key) {
        List<Layer> out = new ArrayList<>();
        for (Object o : list(c, key)) {
            if (!(o instanceof Map<?, ?>)) {
                throw new IllegalArgumentException(key + ": a layer is not an object: " + o);
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> m = (Map<String, Object>) o;
            out.add(fromConfig(m));
        }
        return out;
    }

    private static double real(Map<String, Object> c, String key) {
        Object v = require(c, key);
        if (!(v instanceof Number n) || !Double.isFinite(n.doubleValue())) {
            throw new IllegalArgumentException(c.get("type") + ": setting '" + key + "' must be a number, got " + v);
        }
        return n.doubleValue();
    }

    /** One layer from its {@code type} and settings. */
    public static Layer fromConfig(Map<String, Object> c) {
        String type = String.valueOf(c.get("type"));
        return switch (type) {
            case "Conv2d" -> {
                List<?> k = list(c, "kernel"), s = list(c, "stride"), p = list(c, "padding"), d = list(c, "dilation");
                yield new Conv2d(integer(c, "out_channels"), num(k, 0), num(k, 1))
                        .inChannels(integer(c, "in_channels"))
                        .stride(num(s, 0), num(s, 1))
                        .padding(num(p, 0), num(p, 1), num(p, 2), num(p, 3))
                        .dilation(num(d, 0), num(d, 1))
                        .groups(integer(c, "groups"))
                        .bias(bool(c, "bias"))
                        .init(Init.valueOf(String.valueOf(c.get("init"))));
            }
            case "Linear" -> new Linear(integer(c, "out_features")).inFeatures(integer(c, "in_features"))
                    .bias(bool(c, "bias")).init(Init.valueOf(String.valueOf(c.get("init"))));
            case "MaxPool2d" -> new MaxPool2d(integer(c, "kernel")).stride(integer(c, "stride"))
                    .padding(integer(c, "padding"));
            case "AvgPool2d" -> new AvgPool2d(integer(c, "kernel")).stride(integer(c, "stride"))
                    .padding(integer(c, "padding")).countIncludePad(bool(c, "count_include_pad"));
            case "ReLU" -> new ReLU();
            case "LeakyReLU" -> new LeakyReLU(real(c, "negative_slope"));
            case "Sigmoid" -> new Sigmoid();
            case "Tanh" -> new Tanh();
            case "Flatten" -> new Flatten();
            case "BatchNorm2d" -> new BatchNorm2d().momentum(real(c, "momentum")).eps(real(c, "eps"));
            case "Dropout" -> new Dropout(real(c, "p"));
            case "Maxout" -> new Maxout(integer(c, "pieces"));
            case "GlobalAvgPool2d" -> new GlobalAvgPool2d();
            case "ChannelPad" -> new ChannelPad(integer(c, "before"), integer(c, "after"));
            case "Residual" -> new Residual(fromConfigs(c, "body"), fromConfigs(c, "shortcut"));
            default -> throw new IllegalArgumentException("unknown layer type '" + type + "'");
        };
    }

    private static Object require(Map<String, Object> c, String key) {
        Object v = c.get(key);
        if (v == null) {
            throw new IllegalArgumentException(c.get("type") + ": missing setting '" + key + "'");
        }
        return v;
    }

    private static int integer(Map<String, Object> c, String key) {
        return whole(require(c, key), c.get("type") + ": setting '" + key + "'");
    }

    /** A JSON number that is a whole number in int range (Gson reads every number as a double). */
    private static int whole(Object v, String what) {
        if (!(v instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())
                || Math.abs(n.doubleValue()) > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(what + " must be an integer, got " + v);
        }
        return n.intValue();
    }

    private static boolean bool(Map<String, Object> c, String key) {
        if (!(require(c, key) instanceof Boolean b)) {
            throw new IllegalArgumentException(c.get("type") + ": setting '" + key + "' must be true or false");
        }
        return b;
    }

    private static List<?> list(Map<String, Object> c, String key) {
        if (!(require(c, key) instanceof List<?> l)) {
            throw new IllegalArgumentException(c.get("type") + ": setting '" + key + "' must be a list");
        }
        return l;
    }

    private static int num(List<?> l, int i) {
        return num(l, i, "a list setting");
    }

    private static int num(List<?> l, int i, String what) {
        if (i >= l.size()) {
            throw new IllegalArgumentException(what + " " + l + " has no element " + i);
        }
        return whole(l.get(i), what + " element " + i);
    }
}
