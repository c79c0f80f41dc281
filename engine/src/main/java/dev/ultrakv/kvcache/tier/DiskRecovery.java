package dev.ultrakv.kvcache.tier;

/**
 * What {@link DiskKvTier#open} found in its directory.
 *
 * @param segments          segment files kept
 * @param records           records indexed (a key written twice counts twice; the later copy is the one read)
 * @param tornRecords       segment tails cut off because their record was torn (short, unparsable or failing its
 *                          checksum); each is also counted in {@link TierStats#corrupt()}
 * @param truncatedBytes    bytes cut off those tails
 * @param discardedSegments segment files deleted because their header was missing or not this format's, or the
 *                          disk could not read them (counted in {@link TierStats#errors()} too)
 */
public record DiskRecovery(int segments, long records, long tornRecords, long truncatedBytes,
                           int discardedSegments) {
}
