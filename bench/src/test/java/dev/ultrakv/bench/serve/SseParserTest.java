package dev.ultrakv.bench.serve;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class SseParserTest {

    private static List<SseEvent> parse(String... pieces) {
        List<SseEvent> events = new ArrayList<>();
        var parser = new SseParser(events::add);
        for (String piece : pieces) {
            parser.feed(piece.getBytes(StandardCharsets.UTF_8));
        }
        return events;
    }

    private static List<SseEvent> parseBytes(byte[] bytes, int pieceSize) {
        List<SseEvent> events = new ArrayList<>();
        var parser = new SseParser(events::add);
        for (int i = 0; i < bytes.length; i += pieceSize) {
            parser.feed(bytes, i, Math.min(pieceSize, bytes.length - i));
        }
        return events;
    }

    @Test
    void openAiChunksAndDone_areEventsInOrder() {
        List<SseEvent> events = parse("data: {\"choices\":[{\"text\":\"Once\"}]}\n\n",
                "data: {\"choices\":[{\"text\":\" upon\"}]}\n\ndata: [DONE]\n\n");
        assertEquals(List.of(new SseEvent("message", "{\"choices\":[{\"text\":\"Once\"}]}", ""),
                new SseEvent("message", "{\"choices\":[{\"text\":\" upon\"}]}", ""),
                new SseEvent("message", "[DONE]", "")), events);
    }

    @Test
    void crLfCrAndLf_allEndLines_evenWhenCrLfIsSplitBetweenPieces() {
        assertEquals(List.of(new SseEvent("message", "a", ""), new SseEvent("message", "b", ""),
                new SseEvent("message", "c", "")), parse("data: a\r\n\r\ndata: b\r\rdata: c\r", "\n\r", "\n"));
        byte[] bytes = "data: x\r\n\r\ndata: y\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        for (int size = 1; size <= bytes.length; size++) {
            assertEquals(List.of(new SseEvent("message", "x", ""), new SseEvent("message", "y", "")),
                    parseBytes(bytes, size), "pieces of " + size);
        }
    }

    @Test
    void multiLineData_isJoinedWithLineFeeds() {
        assertEquals(List.of(new SseEvent("message", "first\nsecond\n", "")),
                parse("data: first\ndata:second\ndata\n\n"));
    }

    @Test
    void comments_areIgnored_andAnEventOfOnlyCommentsIsNotDispatched() {
        assertEquals(List.of(new SseEvent("message", "x", "")), parse(": keep-alive\n\n:\ndata: x\n: mid\n\n"));
    }

    @Test
    void eventTypeAndId_areKept_typeResetAfterEachEvent() {
        assertEquals(List.of(new SseEvent("error", "{}", "7"), new SseEvent("message", "y", "7")),
                parse("event: error\nid: 7\ndata: {}\n\ndata: y\n\n"));
    }

    @Test
    void onlyOneLeadingSpaceOfAValueIsDropped_andUnknownFieldsAndRetryAreIgnored() {
        assertEquals(List.of(new SseEvent("message", "  two spaces", "")),
                parse("retry: 10\nfoo: bar\ndata:   two spaces\n\n"));
    }

    @Test
    void anUnterminatedEventAtTheEnd_isNotDispatched() {
        assertEquals(List.of(new SseEvent("message", "done", "")), parse("data: done\n\ndata: half"));
        assertEquals(List.of(), parse("data: no blank line\n"));
    }

    @Test
    void aLeadingByteOrderMark_isSkipped_andUtf8SplitAcrossPieces_isDecodedWhole() {
        byte[] bytes = "\uFEFFdata: caf\u00e9 \u4e16\n\n".getBytes(StandardCharsets.UTF_8);
        for (int size = 1; size <= 4; size++) {
            assertEquals(List.of(new SseEvent("message", "caf\u00e9 \u4e16", "")), parseBytes(bytes, size));
        }
    }

    @Test
    void anIdWithNul_isIgnored() {
        assertEquals(List.of(new SseEvent("message", "x", "1")), parse("id: 1\n\nid: a\u0000b\ndata: x\n\n"));
    }
}
