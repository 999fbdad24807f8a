package org.cnn4j.nn;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.cnn4j.tensor.Shape;

/**
 * The model zoo (SPEC S7): named architectures, each built for a given input shape
 * (C x H x W) and class count. Parameter counts match the reference definitions: torchvision
 * for AlexNet, VGG and ResNet-18/34/50 (at 3 x 224 x 224 and 1000 classes), He et al. (2016)
 * for the CIFAR ResNets (0.27M, 0.46M, 0.85M at 3 x 32 x 32 and 10 classes).
 */
public final class Models {
    private Models() {
    }

    /** A zoo entry: how to build it, and the input it was designed for. */
    private record Entry(Builder builder, Shape defaultInput, int defaultClasses) {
    }

    @FunctionalInterface
    private interface Builder {
        Sequential build(Shape input, int classes);
    }

    private static final Shape IMAGENET = Shape.of(3, 224, 224);
    private static final Shape CIFAR = Shape.of(3, 32, 32);
    private static final Map<String, Entry> ZOO = new LinkedHashMap<>();

    static {
        ZOO.put("lenet5", new Entry((in, k) -> lenet5(in, in.dim(1) == 28 ? 2 : 0, k), Shape.of(1, 28, 28), 10));
        ZOO.put("lenet5-32x32x3", new Entry((in, k) -> lenet5(in, 0, k), Shape.of(3, 32, 32), 10));
        ZOO.put("alexnet", new Entry(Models::alexnet, IMAGENET, 1000));
        ZOO.put("alexnet-2group", new Entry(Models::alexnetTwoGroup, Shape.of(3, 227, 227), 1000));
        for (int depth : new int[] {11, 13, 16, 19}) {
            ZOO.put("vgg" + depth, new Entry((in, k) -> vgg(depth, false, in, k), IMAGENET, 1000));
            ZOO.put("vgg" + depth + "-bn", new Entry((in, k) -> vgg(depth, true, in, k), IMAGENET, 1000));
        }
        ZOO.put("vgg11-plain", new Entry((in, k) -> vgg(11, false, 0, in, k), IMAGENET, 1000));
        for (int depth : new int[] {20, 32, 56}) {
            ZOO.put("resnet" + depth, new Entry((in, k) -> cifarResNet(depth, in, k), CIFAR, 10));
        }
        ZOO.put("resnet18", new Entry((in, k) -> resnet(new int[] {2, 2, 2, 2}, false, in, k), IMAGENET, 1000));
        ZOO.put("resnet34", new Entry((in, k) -> resnet(new int[] {3, 4, 6, 3}, false, in, k), IMAGENET, 1000));
        ZOO.put("resnet50", new Entry((in, k) -> resnet(new int[] {3, 4, 6, 3}, true, in, k), IMAGENET, 1000));
    }

    /** The names {@link #create} accepts, in zoo order. */
    public static List<String> names() {
        return List.copyOf(ZOO.keySet());
    }

    /** The model at the input and class count it was designed for. */
    public static Sequential create(String name) {
        Entry e = entry(name);
        return e.builder().build(e.defaultInput(), e.defaultClasses());
    }

    /** The model for another input shape (C x H x W) and class count. */
    public static Sequential create(String name, Shape input, int classes) {
        if (input.rank() != 3) {
            throw new IllegalArgumentException("model " + name + " needs a C x H x W input, got " + input.toCompactString());
        }
        if (classes < 2) {
            throw new IllegalArgumentException("a classifier needs at least 2 classes, got " + classes);
        }
        return entry(name).builder().build(input, classes);
    }

    /**
     * The zoo's name for a model: the name itself, or for torchvision's spelling (underscores,
     * as in {@code vgg16_bn}) the same name with hyphens; case is ignored.
     */
    public static String canonicalName(String name) {
        String n = name.toLowerCase(java.util.Locale.ROOT);
        if (ZOO.containsKey(n)) {
            return n;
        }
        String hyphens = n.replace('_', '-');
        return ZOO.containsKey(hyphens) ? hyphens : name;
    }

    private static Entry entry(String name) {
        Entry e = ZOO.get(canonicalName(name));
        if (e == null) {
            throw new IllegalArgumentException("unknown model '" + name + "'; known models: " + String.join(", ", names()));
        }
        return e;
    }

    /**
     * LeNet-5 for 28x28x1 images (MNIST, Fashion-MNIST): the first convolution is padded by 2,
     * so the rest of the network sees the classic 32x32 geometry; ReLU and max pooling;
     * 61,706 parameters (SPEC S7.1).
     */
    public static Sequential lenet5() {
        return lenet5(Shape.of(1, 28, 28), 2, 10);
    }

    /** The seed's LeNet-5 on 32x32x3 images, unpadded (SPEC S7.1): 32 -> 28 -> 14 -> 10 -> 5. */
    public static Sequential lenet5Rgb32() {
        return lenet5(Shape.of(3, 32, 32), 0, 10);
    }

    /** CONV-POOL-CONV-POOL-FC-FC-FC with the given input and first-layer padding. */
    public static Sequential lenet5(Shape input, int firstPadding, int classes) {
        return new Sequential(input,
                new Conv2d(6, 5).padding(firstPadding), new ReLU(), new MaxPool2d(2),
                new Conv2d(16, 5), new ReLU(), new MaxPool2d(2),
                new Flatten(),
                new Linear(120), new ReLU(),
                new Linear(84), new ReLU(),
                new Linear(classes));
    }

    /** AlexNet as torchvision defines it (one filter group, 64-192-384-256-256): 61,100,840 parameters. */
    public static Sequential alexnet(Shape input, int classes) {
        List<Layer> l = new ArrayList<>(List.of(
                new Conv2d(64, 11).stride(4).padding(2), new ReLU(), new MaxPool2d(3).stride(2),
                new Conv2d(192, 5).padding(2), new ReLU(), new MaxPool2d(3).stride(2),
                new Conv2d(384, 3).padding(1), new ReLU(),
                new Conv2d(256, 3).padding(1), new ReLU(),
                new Conv2d(256, 3).padding(1), new ReLU(), new MaxPool2d(3).stride(2)));
        l.addAll(classifier(4096, 0.5, classes, true));
        return new Sequential(input, l.toArray(new Layer[0]));
    }

    /**
     * The seed's original AlexNet (SPEC S7.2) on 227x227x3: 96 11x11/4 filters, overlapping 3/2
     * max pools, and the two-GPU filter groups on the second, fourth and fifth convolutions;
     * 227 -> 55 -> 27 -> 27 -> 13 -> 13 -> 13 -> 13 -> 6; 60,965,224 parameters.
     */
    public static Sequential alexnetTwoGroup(Shape input, int classes) {
        List<Layer> l = new ArrayList<>(List.of(
                new Conv2d(96, 11).stride(4), new ReLU(), new MaxPool2d(3).stride(2),
                new Conv2d(256, 5).padding(2).groups(2), new ReLU(), new MaxPool2d(3).stride(2),
                new Conv2d(384, 3).padding(1), new ReLU(),
                new Conv2d(384, 3).padding(1).groups(2), new ReLU(),
                new Conv2d(256, 3).padding(1).groups(2), new ReLU(), new MaxPool2d(3).stride(2)));
        l.addAll(classifier(4096, 0.5, classes, true));
        return new Sequential(input, l.toArray(new Layer[0]));
    }

    /** Flatten, then (dropout, dense, ReLU) twice, then the output layer; no dropout layers at probability 0. */
    private static List<Layer> classifier(int width, double dropout, int classes, boolean dropoutFirst) {
        List<Layer> l = new ArrayList<>();
        l.add(new Flatten());
        for (int i = 0; i < 2; i++) {
            if (dropoutFirst && dropout > 0) {
                l.add(new Dropout(dropout));
            }
            l.add(new Linear(width));
            l.add(new ReLU());
            if (!dropoutFirst && dropout > 0) {
                l.add(new Dropout(dropout));
            }
        }
        l.add(new Linear(classes));
        return l;
    }

    private static int[] vggConfig(int depth) {
        // filters per 3x3 convolution, 0 = 2x2 max pool (Simonyan & Zisserman, configurations A, B, D, E)
        return switch (depth) {
            case 11 -> new int[] {64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0};
            case 13 -> new int[] {64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0};
            case 16 -> new int[] {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0};
            case 19 -> new int[] {64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512,
                512, 0};
            default -> throw new IllegalArgumentException("VGG depth must be 11, 13, 16 or 19, got " + depth);
        };
    }

    /**
     * VGG (SPEC S7.3): stacks of 3x3 convolutions (padding 1) and 2x2 max pools, optionally
     * with batch norm after each convolution, then two 4096-wide dense layers with dropout.
     * At 224x224: VGG-11 132,863,336 parameters, VGG-16 138,357,544 (torchvision).
     */
    public static Sequential vgg(int depth, boolean batchNorm, Shape input, int classes) {
        return vgg(depth, batchNorm, 0.5, input, classes);
    }

    /**
     * VGG with the classifier's dropout probability given; at 0 there are no dropout layers,
     * and VGG-11 without batch norm is then convolutions, pooling, ReLU and dense layers only
     * ({@code vgg11-plain}, the plain network of the PyTorch race).
     */
    public static Sequential vgg(int depth, boolean batchNorm, double dropout, Shape input, int classes) {
        List<Layer> l = new ArrayList<>();
        for (int f : vggConfig(depth)) {
            if (f == 0) {
                l.add(new MaxPool2d(2));
            } else {
                l.add(new Conv2d(f, 3).padding(1));
                if (batchNorm) {
                    l.add(new BatchNorm2d());
                }
                l.add(new ReLU());
            }
        }
        l.addAll(classifier(4096, dropout, classes, false));
        return new Sequential(input, l.toArray(new Layer[0]));
    }

    /** conv(k x k, stride, padding, no bias) + batch norm. */
    private static List<Layer> convBn(int filters, int kernel, int stride, int padding) {
        return List.of(new Conv2d(filters, kernel).stride(stride).padding(padding).bias(false), new BatchNorm2d());
    }

    /** A basic block: 3x3 conv-bn-relu, 3x3 conv-bn, plus the shortcut; ReLU after the sum. */
    private static Residual basicBlock(int filters, int stride, List<Layer> shortcut) {
        List<Layer> body = new ArrayList<>(convBn(filters, 3, stride, 1));
        body.add(new ReLU());
        body.addAll(convBn(filters, 3, 1, 1));
        return new Residual(body, shortcut);
    }

    /**
     * He et al.'s CIFAR ResNets (depth 6n+2: 20, 32, 56): a 3x3 stem of 16 filters, three
     * stages of n basic blocks with 16, 32 and 64 filters (stride 2 at the start of stages 2
     * and 3), global average pooling and a dense classifier. Where a stage halves the
     * resolution and doubles the filters the shortcut subsamples and pads with zero channels
     * (the paper's parameter-free option A).
     */
    public static Sequential cifarResNet(int depth, Shape input, int classes) {
        if (depth < 8 || (depth - 2) % 6 != 0) {
            throw new IllegalArgumentException("CIFAR ResNet depth must be 6n+2 (20, 32, 56, ...), got " + depth);
        }
        int n = (depth - 2) / 6;
        List<Layer> l = new ArrayList<>(convBn(16, 3, 1, 1));
        l.add(new ReLU());
        int in = 16;
        for (int stage = 0; stage < 3; stage++) {
            int filters = 16 << stage;
            for (int b = 0; b < n; b++) {
                int stride = stage > 0 && b == 0 ? 2 : 1;
                List<Layer> shortcut = List.of();
                if (stride != 1 || in != filters) {
                    int extra = filters - in;
                    shortcut = List.of(new AvgPool2d(1).stride(stride), new ChannelPad(extra / 2, extra - extra / 2));
                }
                l.add(basicBlock(filters, stride, shortcut));
                l.add(new ReLU());
                in = filters;
            }
        }
        l.add(new GlobalAvgPool2d());
        l.add(new Flatten());
        l.add(new Linear(classes));
        return new Sequential(input, l.toArray(new Layer[0]));
    }

    /**
     * ResNet-18/34 (basic blocks) and ResNet-50 (bottleneck 1x1-3x3-1x1 blocks, SPEC S7.4) as
     * torchvision defines them: 7x7/2 stem, 3x3/2 max pool, four stages of 64-512 filters,
     * 1x1 projection shortcuts with batch norm where the shape changes, global average pooling.
     */
    public static Sequential resnet(int[] blocks, boolean bottleneck, Shape input, int classes) {
        List<Layer> l = new ArrayList<>(convBn(64, 7, 2, 3));
        l.add(new ReLU());
        l.add(new MaxPool2d(3).stride(2).padding(1));
        int expansion = bottleneck ? 4 : 1;
        int in = 64;
        for (int stage = 0; stage < 4; stage++) {
            int width = 64 << stage;
            for (int b = 0; b < blocks[stage]; b++) {
                int stride = stage > 0 && b == 0 ? 2 : 1;
                int out = width * expansion;
                List<Layer> shortcut = stride != 1 || in != out ? convBn(out, 1, stride, 0) : List.of();
                if (bottleneck) {
                    List<Layer> body = new ArrayList<>(convBn(width, 1, 1, 0));
                    body.add(new ReLU());
                    body.addAll(convBn(width, 3, stride, 1));
                    body.add(new ReLU());
                    body.addAll(convBn(out, 1, 1, 0));
                    l.add(new Residual(body, shortcut));
                } else {
                    l.add(basicBlock(width, stride, shortcut));
                }
                l.add(new ReLU());
                in = out;
            }
        }
        l.add(new GlobalAvgPool2d());
        l.add(new Flatten());
        l.add(new Linear(classes));
        return new Sequential(input, l.toArray(new Layer[0]));
    }
}
