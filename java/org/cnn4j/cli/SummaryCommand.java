package org.cnn4j.cli;

import java.util.concurrent.Callable;
import org.cnn4j.nn.Sequential;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code cnn4j summary MODEL}: layer table with output shapes and parameter counts. */
@Command(name = "summary", mixinStandardHelpOptions = true,
        description = "Print a model's layers, output shapes and parameter counts.")
final class SummaryCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "MODEL", description = "A zoo model name (torchvision's names, such as "
            + "vgg16_bn, are accepted too).")
    String model;

    @Mixin
    ModelShapeOptions shape;

    @Override
    public Integer call() {
        try (Sequential m = shape.build(model)) {
            System.out.println(model + " (input " + m.inputShape().toCompactString() + ")");
            System.out.print(m.summary());
        }
        return 0;
    }
}
