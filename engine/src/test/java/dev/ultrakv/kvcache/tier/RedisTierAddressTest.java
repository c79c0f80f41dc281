package dev.ultrakv.kvcache.tier;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RedisTierAddressTest {
    @Test
    void hostPortAndDatabaseAreRead() {
        assertEquals(new RedisTierAddress("cache.internal", 6380, 3, null, null),
                RedisTierAddress.parse("redis://cache.internal:6380/3"));
        assertEquals(new RedisTierAddress("127.0.0.1", 6379, 0, null, null),
                RedisTierAddress.parse("redis://127.0.0.1"));
        assertEquals(new RedisTierAddress("::1", 7000, 0, null, null), RedisTierAddress.parse("redis://[::1]:7000/"));
    }

    @Test
    void credentialsAreReadAndNeverShown() {
        RedisTierAddress address = RedisTierAddress.parse("redis://fleet:s%40cret@cache:6379/1");
        assertEquals("fleet", address.user());
        assertEquals("s@cret", address.password());
        assertEquals("redis://cache:6379/1", address.toString());
        RedisTierAddress passwordOnly = RedisTierAddress.parse("redis://:hunter2@cache:6379");
        assertNull(passwordOnly.user());
        assertEquals("hunter2", passwordOnly.password());
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> RedisTierAddress.parse("redis://:hunter2@cache:6379/x"));
        assertFalse(error.getMessage().contains("hunter2"), error.getMessage());
    }

    @Test
    void malformedUrisAreRefusedNamingTheUriAndTheFault() {
        List<List<String>> cases = List.of(
                List.of("", "empty"),
                List.of("localhost:6379", "scheme"),
                List.of("http://localhost:6379", "scheme"),
                List.of("rediss://localhost:6379", "scheme"),
                List.of("redis://", "host"),
                List.of("redis://:6379", "host"),
                List.of("redis://localhost:port", "host or port"),
                List.of("redis://localhost:70000", "port 70000"),
                List.of("redis://localhost:0", "port 0"),
                List.of("redis://localhost:6379/db1", "database"),
                List.of("redis://localhost:6379/-1", "database"),
                List.of("redis://localhost:6379/1/2", "database"),
                List.of("redis://localhost:6379/99999999", "database"),
                List.of("redis://localhost:6379/0?timeout=1s", "query"),
                List.of("redis://local host:6379", "index"));
        for (List<String> c : cases) {
            IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                    () -> RedisKvTier.connect(c.get(0)), c.get(0));
            assertTrue(error.getMessage().contains(c.get(1)), c.get(0) + " → " + error.getMessage());
            if (!c.get(0).isEmpty()) {
                assertTrue(error.getMessage().contains("'" + c.get(0) + "'"), error.getMessage());
            }
        }
    }

    @Test
    void badOptionsAreRefusedNamingTheOption() {
        RedisTierOptions defaults = RedisTierOptions.defaults();
        assertThrows(IllegalArgumentException.class, () -> defaults.withCommandTimeout(java.time.Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> defaults.withTtl(java.time.Duration.ofMillis(-1)));
        assertThrows(IllegalArgumentException.class, () -> defaults.withKeyPrefix(""));
        assertThrows(IllegalArgumentException.class, () -> defaults.withWriteQueue(0, 1));
        assertThrows(IllegalArgumentException.class, () -> defaults.withMaxRecordBytes(0));
    }
}
