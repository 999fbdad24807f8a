package org.cnn4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code cnn4j} command line: train, eval, predict, summary, bench. */
@Command(name = "cnn4j", mixinStandardHelpOptions = true, version = "cnn4j 0.1.0",
        description = "Train convolutional networks from Java.",
        subcommands = {TrainCommand.class, EvalCommand.class, PredictCommand.class, ReportCommand.class, SummaryCommand.class,
            BenchCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command: train, eval, predict, summary or bench");
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit code (2 for usage errors, 1 for failures). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (System.getenv("CNN4J_DEBUG") != null) {
                ex.printStackTrace();
            }
            cmd.getErr().println("error: " + (ex.getMessage() != null ? ex.getMessage() : ex.toString()));
            return ex instanceof IllegalArgumentException ? 2 : 1;
        });
        // Java Errors pass picocli's handler: each gets a message and exit code 1, no stack trace.
        try {
            return cl.execute(args);
        } catch (Error e) {
            return report(e, cl.getErr());
        }
    }

    /** Prints what an Error means for the user (and what helps); returns exit code 1. */
    static int report(Error e, java.io.PrintWriter err) {
        if (System.getenv("CNN4J_DEBUG") != null) {
            e.printStackTrace();
        }
        if (e instanceof OutOfMemoryError) {
            err.println("error: out of memory (" + e.getMessage() + "): use a smaller --batch, or give Java"
                    + " more memory, e.g. CNN4J_JAVA_OPTS=-Xmx8g ./cnn4j ...");
        } else if (e instanceof StackOverflowError) {
            err.println("error: an input is nested too deeply to read (stack overflow)");
        } else {
            err.println("error: " + e);
        }
        err.flush();
        return 1;
    }
}
