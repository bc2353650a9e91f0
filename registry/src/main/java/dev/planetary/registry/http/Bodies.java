package dev.planetary.registry.http;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.planetary.registry.Json;
import dev.planetary.registry.state.Registration;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Strict validation of request bodies: a JSON object, only known fields, each of the right JSON type and in range.
 * Every error names the field. Nothing is coerced (a string "4" for {@code cores} is an error, as is 4.0).
 */
final class Bodies {

    static final int MAX_CORES = 1024;
    /** 64 TiB of memory per VM: larger is a typo, not a VM. */
    static final long MAX_MEMORY_MB = 64L * 1024 * 1024;
    /** 1 PiB per VM; with at most 1,999 VMs the sum stays far below Long.MAX_VALUE. */
    static final long MAX_STORAGE_BYTES = 1L << 50;
    static final int MAX_MAP_ENTRIES = 64;
    /** Jackson's default nesting limit; a registration body is 2 levels deep, anything near this is an attack. */
    private static final int MAX_DEPTH = StreamReadConstraints.DEFAULT_MAX_DEPTH;
    private static final Pattern SERVICE = Pattern.compile("[a-z][a-z0-9_-]{0,31}");
    private static final Pattern LABEL_KEY = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._/-]{0,62}");
    private static final int MAX_LABEL_VALUE = 256;
    private static final Pattern INSTANCE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,127}");
    private static final Pattern IPV4 = Pattern.compile("(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]{2,45}");
    private static final Set<String> REGISTER_FIELDS =
        Set.of("cores", "ip", "memory_mb", "storage_bytes", "services", "labels", "instance");
    private static final Set<String> HEARTBEAT_FIELDS = Set.of("load", "cpu_percent");

    private Bodies() {
    }

    static JsonNode parse(byte[] body, boolean required) throws ApiException {
        if (body.length == 0) {
            if (required) {
                throw ApiException.badRequest("request body required: a JSON object");
            }
            return null;
        }
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(body);
        } catch (StreamConstraintsException e) {
            // Jackson's limits (nesting depth above all) come without a location
            throw ApiException.badRequest("malformed JSON: nesting depth over " + MAX_DEPTH + " levels, or a number "
                + "or string beyond Jackson's limits");
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            throw ApiException.badRequest("malformed JSON" + (at == null ? "" : " at line " + at.getLineNr()
                + ", column " + at.getColumnNr()) + ": " + e.getOriginalMessage());
        } catch (java.io.IOException e) {
            throw ApiException.badRequest("malformed JSON");
        }
        if (root == null || root.isMissingNode()) {
            if (required) {
                throw ApiException.badRequest("request body required: a JSON object");
            }
            return null;
        }
        if (!root.isObject()) {
            throw ApiException.badRequest("the body must be a JSON object, not " + kind(root));
        }
        return root;
    }

    static Registration registration(byte[] body) throws ApiException {
        JsonNode root = parse(body, true);
        unknown(root, REGISTER_FIELDS, "");
        if (!root.has("cores")) {
            throw ApiException.badRequest("field 'cores' is required: an integer from 1 to " + MAX_CORES);
        }
        int cores = (int) integer(root, "cores", 1, MAX_CORES, 0);
        String ip = null;
        if (root.has("ip")) {
            ip = ip(text(root, "ip"));
        }
        long memory = integer(root, "memory_mb", 0, MAX_MEMORY_MB, 0);
        long storage = integer(root, "storage_bytes", 0, MAX_STORAGE_BYTES, 0);
        Map<String, Integer> services = new LinkedHashMap<>();
        JsonNode s = object(root, "services");
        if (s != null) {
            for (Iterator<Map.Entry<String, JsonNode>> it = s.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String field = "services." + e.getKey();
                if (!SERVICE.matcher(e.getKey()).matches()) {
                    throw ApiException.badRequest("field '" + field + "': a service name is 1-32 characters of "
                        + "a-z, 0-9, '_' and '-', starting with a letter");
                }
                JsonNode v = e.getValue();
                if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 1 || v.intValue() > 65535) {
                    throw ApiException.badRequest("field '" + field + "' must be a port: an integer from 1 to 65535");
                }
                services.put(e.getKey(), v.intValue());
            }
        }
        Map<String, String> labels = new LinkedHashMap<>();
        JsonNode l = object(root, "labels");
        if (l != null) {
            for (Iterator<Map.Entry<String, JsonNode>> it = l.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String field = "labels." + e.getKey();
                if (!LABEL_KEY.matcher(e.getKey()).matches()) {
                    throw ApiException.badRequest("field '" + field + "': a label key is 1-63 characters of "
                        + "A-Z, a-z, 0-9, '.', '_', '/' and '-'");
                }
                if (!e.getValue().isTextual() || e.getValue().textValue().length() > MAX_LABEL_VALUE) {
                    throw ApiException.badRequest("field '" + field + "' must be a string of at most "
                        + MAX_LABEL_VALUE + " characters");
                }
                labels.put(e.getKey(), e.getValue().textValue());
            }
        }
        String instance = null;
        if (root.has("instance")) {
            instance = text(root, "instance");
            if (!INSTANCE.matcher(instance).matches()) {
                throw ApiException.badRequest("field 'instance' must be 1-128 characters of A-Z, a-z, 0-9, '.', "
                    + "'_', ':' and '-'");
            }
        }
        return new Registration(ip, cores, memory, storage, services, labels, instance);
    }

    /** Heartbeat body (optional): {@code load} (load average, 0..100000) and {@code cpu_percent} (0..100). */
    static double[] heartbeat(byte[] body) throws ApiException {
        JsonNode root = parse(body, false);
        double[] out = {Double.NaN, Double.NaN};
        if (root == null) {
            return out;
        }
        unknown(root, HEARTBEAT_FIELDS, "");
        out[0] = number(root, "load", 0, 100_000);
        out[1] = number(root, "cpu_percent", 0, 100);
        return out;
    }

    /** A literal IPv4 or IPv6 address in its canonical form; never a host name (no DNS look-up, ever). */
    static String ip(String text) throws ApiException {
        boolean v4 = IPV4.matcher(text).matches();
        if (!v4 && !(text.indexOf(':') >= 0 && IPV6.matcher(text).matches())) {
            throw ApiException.badRequest("field 'ip' must be an IPv4 or IPv6 address literal, not '" + clip(text) + "'");
        }
        try {
            return InetAddress.getByName(text).getHostAddress();
        } catch (UnknownHostException e) {
            throw ApiException.badRequest("field 'ip' must be an IPv4 or IPv6 address literal, not '" + clip(text) + "'");
        }
    }

    private static void unknown(JsonNode root, Set<String> known, String prefix) throws ApiException {
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!known.contains(f)) {
                throw ApiException.badRequest("unknown field '" + prefix + clip(f) + "' (known: "
                    + String.join(", ", new java.util.TreeSet<>(known)) + ")");
            }
        }
    }

    private static long integer(JsonNode root, String field, long min, long max, long absent) throws ApiException {
        JsonNode v = root.get(field);
        if (v == null) {
            return absent;
        }
        if (v.isIntegralNumber() && !v.canConvertToLong()) {
            throw ApiException.badRequest("field '" + field + "' is out of range: " + clip(v.asText()) + " (allowed "
                + min + " to " + max + ")");
        }
        if (!v.isIntegralNumber()) {
            throw ApiException.badRequest("field '" + field + "' must be an integer from " + min + " to " + max
                + ", not " + kind(v));
        }
        long x = v.longValue();
        if (x < min || x > max) {
            throw ApiException.badRequest("field '" + field + "' is out of range: " + x + " (allowed " + min + " to "
                + max + ")");
        }
        return x;
    }

    private static double number(JsonNode root, String field, double min, double max) throws ApiException {
        JsonNode v = root.get(field);
        if (v == null) {
            return Double.NaN;
        }
        if (!v.isNumber()) {
            throw ApiException.badRequest("field '" + field + "' must be a number, not " + kind(v));
        }
        double x = v.doubleValue();
        if (!(x >= min && x <= max)) {
            throw ApiException.badRequest("field '" + field + "' is out of range: " + v.asText() + " (allowed " + min
                + " to " + max + ")");
        }
        return x;
    }

    private static String text(JsonNode root, String field) throws ApiException {
        JsonNode v = root.get(field);
        if (!v.isTextual()) {
            throw ApiException.badRequest("field '" + field + "' must be a string, not " + kind(v));
        }
        return v.textValue();
    }

    private static JsonNode object(JsonNode root, String field) throws ApiException {
        JsonNode v = root.get(field);
        if (v == null) {
            return null;
        }
        if (!v.isObject()) {
            throw ApiException.badRequest("field '" + field + "' must be an object, not " + kind(v));
        }
        if (v.size() > MAX_MAP_ENTRIES) {
            throw ApiException.badRequest("field '" + field + "' has " + v.size() + " entries (at most "
                + MAX_MAP_ENTRIES + ")");
        }
        return v;
    }

    static String kind(JsonNode v) {
        if (v.isTextual()) {
            return "a string";
        }
        if (v.isIntegralNumber()) {
            return "an integer";
        }
        if (v.isNumber()) {
            return "a fractional number";
        }
        if (v.isBoolean()) {
            return "a boolean";
        }
        if (v.isNull()) {
            return "null";
        }
        if (v.isArray()) {
            return "an array";
        }
        return "an object";
    }

    private static String clip(String s) {
        String t = s.length() > 64 ? s.substring(0, 64) + "..." : s;
        StringBuilder b = new StringBuilder(t.length());
        for (char c : t.toCharArray()) {
            b.append(c < 0x20 || c == 0x7f ? '?' : c);
        }
        return b.toString();
    }
}
