package dev.planetary.registry.etcd;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;

/** The etcd cluster's client URLs as {@code --etcd} gives them: {@code http://127.0.0.1:2379[,http://...]}. */
public record EtcdEndpoints(List<URI> uris) {

    /** The option's name, for messages. */
    public static final String OPTION = "--etcd";

    public EtcdEndpoints {
        uris = List.copyOf(uris);
    }

    /** Parses a comma-separated list; a bad element is named in the message. */
    public static EtcdEndpoints parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("option " + OPTION + ": give the etcd client URLs, e.g. "
                + "http://127.0.0.1:2379,http://127.0.0.2:2379");
        }
        List<URI> out = new ArrayList<>();
        for (String part : text.split(",", -1)) {
            String s = part.trim();
            if (!s.startsWith("http://") && !s.startsWith("https://")) {
                throw bad(s, "must start with http:// or https://");
            }
            URI u;
            try {
                u = new URI(s);
            } catch (URISyntaxException e) {
                throw bad(s, "not a URL");
            }
            if (u.getHost() == null || u.getPort() < 1 || u.getPort() > 65535) {
                throw bad(s, "must name a host and a port, e.g. http://127.0.0.1:2379");
            }
            if ((u.getRawPath() != null && !u.getRawPath().isEmpty() && !"/".equals(u.getRawPath()))
                || u.getRawQuery() != null || u.getRawUserInfo() != null || u.getRawFragment() != null) {
                throw bad(s, "must be only scheme://host:port (no path, query or credentials)");
            }
            if (out.contains(u)) {
                throw bad(s, "is listed twice");
            }
            out.add(u);
        }
        return new EtcdEndpoints(out);
    }

    private static IllegalArgumentException bad(String element, String why) {
        return new IllegalArgumentException("option " + OPTION + ": '" + element + "' " + why);
    }
}
