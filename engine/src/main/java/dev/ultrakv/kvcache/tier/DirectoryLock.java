package dev.ultrakv.kvcache.tier;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An exclusive lock on a tier directory, held on its {@code lock} file for as long as a {@link DiskKvTier} has it
 * open, so that two writers (two processes, or two tiers in one process) never append to one set of segments. The
 * operating system releases it when the process dies, so a {@code kill -9} leaves no stale lock behind.
 */
final class DirectoryLock implements AutoCloseable {
    /** The file the lock is held on, inside the directory. */
    static final String FILE_NAME = "lock";

    private final FileChannel channel;
    private final FileLock lock;

    private DirectoryLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Takes the lock of {@code directory}.
     *
     * @throws IllegalStateException if another tier, in this process or another, holds it
     * @throws IOException           if the lock file cannot be created or locked
     */
    static DirectoryLock acquire(Path directory) throws IOException {
        Path file = directory.resolve(FILE_NAME);
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        if (lock == null) {
            channel.close();
            throw new IllegalStateException("disk tier directory " + directory
                    + " is in use by another disk tier (its " + file + " is locked)");
        }
        return new DirectoryLock(channel, lock);
    }

    @Override
    public void close() throws IOException {
        try {
            lock.release();
        } finally {
            channel.close();
        }
    }
}
