package org.cnn4j.cli;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** A progress bar on standard error for long work, shown only on a terminal (or when forced). */
final class Progress implements AutoCloseable {
    private final ProgressBar bar;
    private final long t0 = System.nanoTime();

    Progress(String task, long max, boolean enabled) {
        this.bar = enabled ? new ProgressBarBuilder().setTaskName(task).setInitialMax(max)
                .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(250)
                .setConsumer(new ConsoleProgressBarConsumer(System.err)).continuousUpdate().build() : null;
    }

    static boolean interactive() {
        return System.console() != null;
    }

    void step(long done, double loss, long images) {
        if (bar != null) {
            double secs = (System.nanoTime() - t0) / 1e9;
            bar.stepTo(done);
            bar.setExtraMessage(String.format(" loss %.4f %,.0f img/s", loss, secs > 0 ? images / secs : 0));
        }
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.close();
        }
    }
}
