package dev.ultrakv.sim;

import java.util.List;

/**
 * A named sequence of requests to replay through the prefix index.
 *
 * @param name           how reports call it
 * @param blockSize      tokens per block of the index that replays it
 * @param tokensPerBlock real tokens a block stands for, for the adaptive policy's cost: {@code blockSize} for
 *                       token workloads, 512 for a Mooncake trace replayed one hash id per block
 * @param requests       in arrival order
 */
public record Workload(String name, int blockSize, int tokensPerBlock, List<TraceRequest> requests) {

    /** Validates the sizes and copies the list. */
    public Workload {
        if (blockSize <= 0 || tokensPerBlock <= 0) {
            throw new IllegalArgumentException("block sizes must be positive: " + blockSize + ", " + tokensPerBlock);
        }
        requests = List.copyOf(requests);
    }

    /** The largest number of blocks one request occupies while it runs. */
    public int largestRequestBlocks() {
        int largest = 0;
        for (TraceRequest request : requests) {
            largest = Math.max(largest, Math.ceilDiv(request.kvTokens(), blockSize));
        }
        return largest;
    }
}
