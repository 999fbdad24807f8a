package org.cnn4j.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Holds an output folder for one run: the folder exists and is writable, and no other run (in
 * this or another process) writes it until {@link #close()}. The lock is an operating-system
 * file lock on {@code .cnn4j.lock} in the folder, released by the system if the process dies.
 * Thread-safe: one holder at a time, as the lock says.
 */
public final class OutputLock implements AutoCloseable {
    private static final String LOCK_FILE = ".cnn4j.lock";
    private final Path dir;
    private final FileChannel channel;
    private final FileLock lock;
    private final boolean created;

    private OutputLock(Path dir, FileChannel channel, FileLock lock, boolean created) {
        this.dir = dir;
        this.channel = channel;
        this.lock = lock;
        this.created = created;
    }

    /**
     * Creates {@code dir} if needed and locks it. A folder it created is removed again on
     * {@link #close()} if the run wrote nothing into it.
     *
     * @throws IllegalArgumentException when the folder cannot be created or written
     * @throws IllegalStateException when another run holds it
     */
    public static OutputLock acquire(Path dir, String option) {
        boolean created = !Files.exists(dir);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IllegalArgumentException(option + " " + dir + " cannot be created ("
                    + (Files.exists(dir) ? "it is not a folder" : e.getClass().getSimpleName() + ": " + e.getMessage())
                    + ")", e);
        }
        if (!Files.isWritable(dir)) {
            throw new IllegalArgumentException(option + " " + dir + " is not writable");
        }
        FileChannel ch = null;
        try {
            ch = FileChannel.open(dir.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock l = ch.tryLock();
            if (l == null) {
                throw new IllegalStateException("another cnn4j run is writing " + dir + "; wait for it or choose another "
                        + option);
            }
            return new OutputLock(dir, ch, l, created);
        } catch (OverlappingFileLockException e) {
            close(ch);
            throw new IllegalStateException("another cnn4j run in this process is writing " + dir, e);
        } catch (IOException e) {
            close(ch);
            throw new IllegalArgumentException(option + " " + dir + " cannot be locked: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            close(ch);
            throw e;
        }
    }

    private static void close(FileChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing was written through it
            }
        }
    }

    public Path dir() {
        return dir;
    }

    @Override
    public void close() {
        try {
            lock.release();
        } catch (IOException ignored) {
            // the channel's close below releases it as well
        }
        close(channel);
        if (created) {
            try (var entries = Files.list(dir)) {
                if (entries.allMatch(p -> p.getFileName().toString().equals(LOCK_FILE))) {
                    Files.deleteIfExists(dir.resolve(LOCK_FILE));
                    Files.deleteIfExists(dir);
                }
            } catch (IOException ignored) {
                // the folder stays
            }
        }
    }
}
