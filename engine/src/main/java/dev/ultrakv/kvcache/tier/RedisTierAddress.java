package dev.ultrakv.kvcache.tier;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;

/**
 * Where a {@link RedisKvTier} connects: {@code redis://[[user]:password@]host[:port][/db]}, parsed and checked
 * here so that a mistyped address fails at startup with a message naming it, not later as a connection error.
 *
 * @param host     host name or address (an IPv6 address without the URI's brackets)
 * @param port     TCP port, 6379 when the URI has none (Redis's own default)
 * @param database logical database, 0 when the URI has no path
 * @param user     ACL user name, or null
 * @param password password, or null when the server needs none
 */
public record RedisTierAddress(String host, int port, int database, String user, String password) {
    /** Redis's default port. */
    public static final int DEFAULT_PORT = 6379;
    // Redis's compiled-in limit is configurable ("databases"); 16 is its default, but we only refuse what can
    // never be a database number and leave the rest to the server's SELECT.
    private static final int MAX_DATABASE = 1 << 20;

    /**
     * Parses {@code uri}.
     *
     * @throws IllegalArgumentException naming the URI and what is wrong with it
     */
    public static RedisTierAddress parse(String uri) {
        if (uri == null || uri.isBlank()) {
            throw new IllegalArgumentException("empty Redis URI; expected redis://host:port[/db]");
        }
        URI parsed;
        try {
            parsed = new URI(uri.strip());
        } catch (URISyntaxException e) {
            throw malformed(uri, e.getReason() + " at index " + e.getIndex());
        }
        if (!"redis".equalsIgnoreCase(parsed.getScheme())) {
            throw malformed(uri, "the scheme must be redis://");
        }
        if (parsed.getRawQuery() != null || parsed.getRawFragment() != null) {
            throw malformed(uri, "query parameters and fragments are not supported");
        }
        String host = parsed.getHost();
        if (host == null || host.isEmpty()) {
            throw malformed(uri, parsed.getRawAuthority() == null ? "no host"
                    : "host or port '" + parsed.getRawAuthority() + "' is not valid");
        }
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port = parsed.getPort() == -1 ? DEFAULT_PORT : parsed.getPort();
        if (port < 1 || port > 65535) {
            throw malformed(uri, "port " + port + " is outside 1..65535");
        }
        return new RedisTierAddress(host, port, database(uri, parsed.getRawPath()), user(parsed), password(parsed));
    }

    /** The URI without credentials, for logs and stats. */
    public String display() {
        String shownHost = host.contains(":") ? "[" + host + "]" : host;
        return "redis://" + shownHost + ":" + port + "/" + database;
    }

    @Override
    public String toString() {
        return display();
    }

    private static int database(String uri, String path) {
        if (path == null || path.isEmpty() || path.equals("/")) {
            return 0;
        }
        String number = path.substring(1);
        if (!number.matches("[0-9]{1,7}")) {
            throw malformed(uri, "the path '" + path + "' is not a database number");
        }
        int database = Integer.parseInt(number);
        if (database >= MAX_DATABASE) {
            throw malformed(uri, "database " + database + " is not a Redis database number");
        }
        return database;
    }

    private static String user(URI parsed) {
        String info = parsed.getRawUserInfo();
        if (info == null || !info.contains(":")) {
            return null;
        }
        String user = info.substring(0, info.indexOf(':'));
        return user.isEmpty() ? null : URLDecoder.decode(user, StandardCharsets.UTF_8);
    }

    private static String password(URI parsed) {
        String info = parsed.getRawUserInfo();
        if (info == null) {
            return null;
        }
        String password = info.contains(":") ? info.substring(info.indexOf(':') + 1) : info;
        return URLDecoder.decode(password, StandardCharsets.UTF_8);
    }

    private static IllegalArgumentException malformed(String uri, String why) {
        return new IllegalArgumentException("malformed Redis URI '" + withoutPassword(uri) + "': " + why
                + "; expected redis://host:port[/db]");
    }

    // A password must not reach a log through an error message.
    private static String withoutPassword(String uri) {
        return uri.replaceAll("//[^/@]*@", "//***@");
    }
}
