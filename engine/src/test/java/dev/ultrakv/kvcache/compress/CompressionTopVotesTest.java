package dev.ultrakv.kvcache.compress;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class CompressionTopVotesTest {

    @Test
    void largestVotesWin_tiesGoToTheLowerIndex() {
        long[] votes = {5, 9, 1, 9, 5, 5, 0};
        assertArrayEquals(new int[] {1, 3}, TopVotes.largest(votes, votes.length, 2));
        assertArrayEquals(new int[] {0, 1, 3}, TopVotes.largest(votes, votes.length, 3));
        assertArrayEquals(new int[] {0, 1, 3, 4}, TopVotes.largest(votes, votes.length, 4));
        assertArrayEquals(new int[] {0, 1}, TopVotes.largest(votes, 3, 2), "only the first candidates compete");
        assertArrayEquals(new int[0], TopVotes.largest(votes, votes.length, 0));
        assertArrayEquals(new int[] {0, 1, 2}, TopVotes.largest(votes, 3, 3));
    }

    @Test
    void matchesSortingOnRandomVotesWithManyTies() {
        var random = new SplittableRandom(11);
        for (int trial = 0; trial < 200; trial++) {
            int candidates = 1 + random.nextInt(300);
            long[] votes = new long[candidates + random.nextInt(5)];
            long range = trial % 3 == 0 ? 3 : trial % 3 == 1 ? 50 : Long.MAX_VALUE;
            for (int i = 0; i < votes.length; i++) {
                votes[i] = range == Long.MAX_VALUE ? random.nextLong() : random.nextLong(range);
            }
            int count = random.nextInt(candidates + 1);
            assertArrayEquals(bySorting(votes, candidates, count), TopVotes.largest(votes, candidates, count),
                    "trial " + trial);
        }
    }

    @Test
    void nthSmallestMatchesSortingOnOrderedAndRepeatedInputs() {
        int n = 1_000;
        long[][] inputs = {
                IntStream.range(0, n).asLongStream().toArray(),
                IntStream.range(0, n).map(i -> n - i).asLongStream().toArray(),
                IntStream.range(0, n).map(i -> Math.min(i, n - i)).asLongStream().toArray(),
                new long[n],
                IntStream.range(0, n).map(i -> i % 2).asLongStream().toArray(),
        };
        for (long[] input : inputs) {
            long[] sorted = input.clone();
            Arrays.sort(sorted);
            for (int rank : new int[] {0, 1, n / 3, n / 2, n - 2, n - 1}) {
                assertEquals(sorted[rank], TopVotes.nthSmallest(input.clone(), rank));
            }
        }
    }

    @Test
    void impossibleCountsAreRejected() {
        long[] votes = new long[4];
        var tooMany = assertThrows(IllegalArgumentException.class, () -> TopVotes.largest(votes, 4, 5));
        assertEquals("cannot pick 5 of 4 candidates among 4 votes", tooMany.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TopVotes.largest(votes, 5, 1));
        assertThrows(IllegalArgumentException.class, () -> TopVotes.largest(votes, 4, -1));
    }

    private static int[] bySorting(long[] votes, int candidates, int count) {
        return IntStream.range(0, candidates).boxed()
                .sorted(Comparator.<Integer>comparingLong(i -> votes[i]).reversed().thenComparingInt(i -> i))
                .limit(count).mapToInt(Integer::intValue).sorted().toArray();
    }
}
