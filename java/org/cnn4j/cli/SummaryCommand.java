package org.cnn4j.cli;

import java.util.concurrent.Callable;
import org.cnn4j.nn.Models;
import org.cnn4j.nn.Sequential;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code cnn4j summary MODEL}: layer table with output shapes and parameter counts. */
@Command(name = "summary", mixinStandardHelpOptions = true,
        description = "Print a model's layers, output shapes and parameter counts.")
final class SummaryCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "MODEL", description = "A zoo model name.")
    String model;

    @Override
    public Integer call() {
        try (Sequential m = Models.create(model)) {
            System.out.println(model + " (input " + m.inputShape().toCompactString() + ")");
            System.out.print(m.summary());
        }
        return 0;
    }
}
