package org.cnn4j.nn;

import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.cnn4j.tensor.Shape;

/** The model zoo: named architectures. */
public final class Models {
    private Models() {
    }

    private static final Map<String, Supplier<Sequential>> ZOO = Map.of(
            "lenet5", Models::lenet5,
            "lenet5-32x32x3", Models::lenet5Rgb32);

    /** The names {@link #create} accepts, sorted. */
    public static List<String> names() {
        return ZOO.keySet().stream().sorted().toList();
    }

    public static Sequential create(String name) {
        Supplier<Sequential> s = ZOO.get(name);
        if (s == null) {
            throw new IllegalArgumentException("unknown model '" + name + "'; known models: " + String.join(", ", names()));
        }
        return s.get();
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
}
