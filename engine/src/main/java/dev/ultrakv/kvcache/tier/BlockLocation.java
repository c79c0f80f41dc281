package dev.ultrakv.kvcache.tier;

/**
 * Where a {@link DiskKvTier} holds one block: its record is {@code length} bytes at {@code offset} of
 * {@code segment}.
 */
record BlockLocation(DiskSegment segment, long offset, int length) {
}
