package org.cnn4j.cli;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code cnn4j train --workers N}: starts N worker processes on this machine, each the same
 * {@code cnn4j train} command with its rank, the coordinator's address on loopback and its
 * share of the processors, and waits for them. Rank 0 prints and writes the run; the others'
 * output goes to a log each, shown when they fail. A worker that fails ends the run: the others
 * are stopped (their group has failed too) and the launcher exits with an error that names the
 * worker. Training resumes from the run's last checkpoint with {@code --resume}.
 */
final class Workers {
    private Workers() {
    }

    /**
     * Runs the workers of {@code cnn4j train} command line {@code args} (every argument as
     * given); adds {@code --out} when the folder was not given, each worker's share of the
     * processors when {@code threads} is 0, and {@code --progress} when asked (rank 0's output
     * is relayed, so it cannot see the terminal). Returns the exit code.
     */
    static int launch(List<String> args, int n, Path outDir, boolean addOut, int threads, boolean progress)
            throws IOException, InterruptedException {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        List<String> base = new ArrayList<>();
        base.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        base.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        base.add("-cp");
        base.add(System.getProperty("java.class.path"));
        base.add(Main.class.getName());
        base.addAll(args);  // the whole command line: "train" and its options
        if (addOut) {
            base.add("--out");
            base.add(outDir.toString());
        }
        if (progress) {
            base.add("--progress");
        }
        if (threads == 0) {
            base.add("--threads");
            base.add(String.valueOf(Math.max(1, Runtime.getRuntime().availableProcessors() / n)));
        }
        base.add("--coordinator");
        base.add(InetAddress.getLoopbackAddress().getHostAddress() + ":" + port);
        System.out.printf("cnn4j train: %d workers on this machine, rendezvous on port %d; rank 0 reports%n", n, port);
        List<Process> procs = new ArrayList<>();
        List<Path> logs = new ArrayList<>();
        List<Thread> relays = new ArrayList<>();
        List<Integer> exits = java.util.Collections.synchronizedList(new ArrayList<>());  // ranks, in the order they ended
        Thread stopAll = new Thread(() -> procs.forEach(Process::destroy));
        Runtime.getRuntime().addShutdownHook(stopAll);
        try {
            for (int r = 0; r < n; r++) {
                List<String> cmd = new ArrayList<>(base);
                cmd.add("--rank");
                cmd.add(String.valueOf(r));
                ProcessBuilder pb = new ProcessBuilder(cmd);
                if (r == 0) {
                    logs.add(null);
                } else {
                    Path log = Files.createTempFile("cnn4j-worker-" + r + "-", ".log");
                    logs.add(log);
                    pb.redirectErrorStream(true).redirectOutput(log.toFile());
                }
                Process p = pb.start();
                procs.add(p);
                int rank = r;
                p.onExit().thenRun(() -> exits.add(rank));
                if (r == 0) {  // rank 0 speaks for the run: its output is this command's
                    relays.add(relay(p.getInputStream(), System.out));
                    relays.add(relay(p.getErrorStream(), System.err));
                }
            }
            // The first worker to end with an error is the one that failed (the others fail after
            // it: their group is broken).
            int failed = -1;
            int code = 0;
            while (failed < 0) {
                boolean alive = procs.stream().anyMatch(Process::isAlive);
                synchronized (exits) {
                    for (int r : exits) {
                        if (failed < 0 && procs.get(r).exitValue() != 0) {
                            failed = r;
                            code = procs.get(r).exitValue();
                        }
                    }
                }
                if (!alive && exits.size() == n) {
                    break;
                }
                if (failed < 0) {
                    procs.get(0).waitFor(50, TimeUnit.MILLISECONDS);
                }
            }
            if (failed < 0) {
                drain(relays);
                return 0;
            }
            stop(procs);
            drain(relays);
            System.err.printf("cnn4j: worker %d of %d failed (exit code %d); the run stopped: resume it from its last "
                    + "checkpoint with --resume %s%n", failed, n, code, outDir);
            if (logs.get(failed) != null) {
                List<String> lines = Files.readAllLines(logs.get(failed), StandardCharsets.UTF_8);
                System.err.println("its last lines:");
                lines.subList(Math.max(0, lines.size() - 15), lines.size()).forEach(l -> System.err.println("  " + l));
            }
            return 1;
        } finally {
            stop(procs);
            for (Path log : logs) {
                if (log != null) {
                    Files.deleteIfExists(log);
                }
            }
            try {
                Runtime.getRuntime().removeShutdownHook(stopAll);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running: it stops the workers
            }
        }
    }

    /** Copies a worker's output to ours as it comes, on a daemon thread. */
    private static Thread relay(java.io.InputStream in, java.io.PrintStream to) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[8192];
            try (in) {
                for (int k; (k = in.read(buf)) >= 0; ) {
                    to.write(buf, 0, k);
                    to.flush();
                }
            } catch (IOException closed) {
                // the worker is gone
            }
        }, "cnn4j-worker-output");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** Waits (a few seconds at most) until rank 0's output has all been relayed. */
    private static void drain(List<Thread> relays) throws InterruptedException {
        for (Thread t : relays) {
            t.join(5000);
        }
    }

    /** Stops the workers still running: politely, then after 5 seconds by force. */
    private static void stop(List<Process> procs) throws InterruptedException {
        for (Process p : procs) {
            p.destroy();
        }
        for (Process p : procs) {
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
            }
        }
    }
}
