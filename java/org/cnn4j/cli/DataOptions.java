package org.cnn4j.cli;

import java.nio.file.Path;
import java.util.List;
import org.cnn4j.data.Cifar10;
import org.cnn4j.data.Dataset;
import org.cnn4j.data.IdxDatasets;
import org.cnn4j.data.ImageFolder;
import org.cnn4j.tensor.Shape;
import picocli.CommandLine.Option;

/**
 * Where the data comes from: {@code --data fashion-mnist|mnist|cifar10:DIR|folder:DIR} and,
 * for the IDX sets, {@code --data-dir DIR} (or CNN4J_DATA).
 */
final class DataOptions {
    @Option(names = "--data", defaultValue = "fashion-mnist", description = "Data set: fashion-mnist, mnist, "
            + "cifar10:DIR (the binary version's folder) or folder:DIR (DIR/train and DIR/test, one folder per "
            + "class) (default: ${DEFAULT-VALUE}).")
    String data;

    @Option(names = "--data-dir", description = "Folder with the IDX files of fashion-mnist or mnist (default: "
            + "$CNN4J_DATA, then /usr/share/datasets/fashion-mnist for fashion-mnist).")
    Path dataDir;

    private List<String> folderClasses;

    /** The data set's name without its folder: fashion-mnist, mnist, cifar10 or folder. */
    String kind() {
        int colon = data.indexOf(':');
        return colon < 0 ? data : data.substring(0, colon);
    }

    private Path sourceDir() {
        int colon = data.indexOf(':');
        if (colon < 0 || colon == data.length() - 1) {
            throw new IllegalArgumentException("--data " + data + " needs a folder: " + kind() + ":DIR");
        }
        return Path.of(data.substring(colon + 1));
    }

    Path resolveDir() {
        if (dataDir != null) {
            return dataDir;
        }
        String env = System.getenv("CNN4J_DATA");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        if (data.equals("fashion-mnist")) {
            return IdxDatasets.DEFAULT_FASHION_MNIST;
        }
        throw new IllegalArgumentException("--data " + data + " needs --data-dir DIR (or CNN4J_DATA)");
    }

    /** Loads a split; image folders are resized to {@code imageShape} (ignored by the other sets). */
    Dataset load(boolean train, Shape imageShape) {
        return switch (kind()) {
            case "fashion-mnist", "mnist" -> {
                if (data.contains(":")) {
                    throw new IllegalArgumentException("--data " + kind() + " takes no folder; use --data-dir DIR");
                }
                yield IdxDatasets.load(data, resolveDir(), train);
            }
            case "cifar10" -> Cifar10.load(sourceDir(), train);
            case "folder" -> {
                Path split = ImageFolder.split(sourceDir(), train);
                List<String> names = classNames();
                if (!train) {
                    List<String> extra = new java.util.ArrayList<>(ImageFolder.classes(split));
                    extra.removeAll(names);
                    if (!extra.isEmpty()) {
                        throw new IllegalArgumentException(split + " has class folders the training split lacks: "
                                + extra + " (training classes: " + names + ")");
                    }
                }
                yield ImageFolder.load(split, imageShape, names);
            }
            default -> throw new IllegalArgumentException("unknown data set '" + data
                    + "'; choose fashion-mnist, mnist, cifar10:DIR or folder:DIR");
        };
    }

    /**
     * The class names of the data set, in label order: Fashion-MNIST's and CIFAR-10's published
     * names, MNIST's digits, an image folder's class folders (of its training split).
     */
    List<String> classNames() {
        return switch (kind()) {
            case "fashion-mnist", "mnist" -> IdxDatasets.classNames(kind());
            case "cifar10" -> Cifar10.CLASS_NAMES;
            case "folder" -> {
                if (folderClasses == null) {
                    folderClasses = ImageFolder.classes(ImageFolder.split(sourceDir(), true));
                }
                yield folderClasses;
            }
            default -> throw new IllegalArgumentException("unknown data set '" + data
                    + "'; choose fashion-mnist, mnist, cifar10:DIR or folder:DIR");
        };
    }

    /**
     * Checks that the data's classes are the model's, in the same order (a model saved without
     * names is taken as is).
     */
    void checkClasses(List<String> model) {
        List<String> mine = classNames();
        if (model != null && !model.equals(mine)) {
            throw new IllegalArgumentException("the model's classes " + model + " are not the data's " + mine
                    + " (same names in the same order are needed)");
        }
    }

    Dataset load(boolean train) {
        return load(train, Shape.of(3, 224, 224));
    }
}
