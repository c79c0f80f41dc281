package dev.ultrakv.sim;

import dev.ultrakv.kvcache.policy.PolicyKind;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WorkloadsTest {

    @Test
    void namedWorkloadsAreDeterministicPerSeed() {
        for (String name : Workloads.NAMES) {
            Workload a = Workloads.named(name, 300, 5);
            Workload b = Workloads.named(name, 300, 5);
            Workload c = Workloads.named(name, 300, 6);
            assertEquals(300, a.requests().size(), name);
            for (int i = 0; i < 300; i++) {
                assertArrayEquals(a.requests().get(i).sequence(), b.requests().get(i).sequence(), name);
            }
            assertTrue(!Arrays.equals(a.requests().get(0).sequence(), c.requests().get(0).sequence())
                    || !Arrays.equals(a.requests().get(299).sequence(), c.requests().get(299).sequence()),
                    name);
        }
    }

    @Test
    void eachNextTurnOfAChatExtendsThePreviousPromptAndAnswer() {
        Workload chat = Workloads.multiTurnChat(200, 1);
        int extensions = 0;
        for (int i = 0; i < chat.requests().size(); i++) {
            int[] prompt = chat.requests().get(i).prompt();
            for (int j = 0; j < i; j++) {
                int[] earlier = chat.requests().get(j).sequence();
                if (earlier.length < prompt.length
                        && Arrays.equals(earlier, 0, earlier.length, prompt, 0, earlier.length)) {
                    extensions++;
                    break;
                }
            }
        }
        assertTrue(extensions > 100, extensions + " turns extend an earlier one");
    }

    @Test
    void unknownNamesAreRefusedWithTheList() {
        var e = assertThrows(IllegalArgumentException.class, () -> Workloads.named("zipf", 10, 1));
        assertTrue(e.getMessage().contains("zipf-repeats"));
        assertEquals("repeats(0.25)", Workloads.named("repeats(0.25)", 10, 1).name());
    }

    @Test
    void mooncakeExcerptIsReadAsHashChains() {
        Workload excerpt = MooncakeTrace.excerpt();
        assertEquals(300, excerpt.requests().size());
        assertEquals(1, excerpt.blockSize());
        assertEquals(MooncakeTrace.TOKENS_PER_HASH, excerpt.tokensPerBlock());
        assertEquals(374, excerpt.largestRequestBlocks());
    }

    @Test
    void malformedTraceLinesAreNamed() {
        String trace = "{\"timestamp\": 0, \"hash_ids\": [1, 2]}\n\n{\"timestamp\": 1, \"hash_ids\": [1, x]}\n";
        var e = assertThrows(IllegalArgumentException.class, () -> MooncakeTrace.read(
                new ByteArrayInputStream(trace.getBytes(StandardCharsets.UTF_8)), "t"));
        assertTrue(e.getMessage().startsWith("t line 3:"), e.getMessage());
    }

    @Test
    void reportsFormatAsTableAndCsv() {
        var report = Simulator.run(List.of(Workloads.repeats(100, 0.5, 1)),
                List.of(PolicyKind.LRU), new int[] {1_000});
        String table = report.formatTable();
        assertTrue(table.startsWith("workload"), table);
        String firstRow = table.lines().skip(1).findFirst().orElseThrow();
        assertTrue(firstRow.matches("repeats\\(0\\.5\\) +LRU +1000 .* 50\\.00% .*"), table);
        String csv = report.formatCsv();
        assertTrue(csv.lines().skip(1).findFirst().orElseThrow().startsWith("repeats(0.5),LRU,1000,"), csv);
    }
}
