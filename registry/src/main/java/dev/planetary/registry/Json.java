package dev.planetary.registry;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.planetary.core.ports.PortPlan;
import dev.planetary.core.ports.PortPlan.Ports;
import dev.planetary.registry.state.Change;
import dev.planetary.registry.state.Liveness;
import dev.planetary.registry.state.Released;
import dev.planetary.registry.state.Vm;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The one JSON form of the registry's values, used by the API, the watch stream and the data dir alike (so what a
 * watcher receives is exactly what is stored). Snake-case field names, as the API.
 */
public final class Json {

    /** Strict: duplicate keys are an error, numbers are never coerced from strings. */
    public static final ObjectMapper MAPPER = JsonMapper.builder()
        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
        .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
        .configure(JsonParser.Feature.ALLOW_COMMENTS, false)
        .build();

    private Json() {
    }

    public static ObjectNode object() {
        return MAPPER.createObjectNode();
    }

    public static ArrayNode array() {
        return MAPPER.createArrayNode();
    }

    public static byte[] bytes(JsonNode node) {
        try {
            return MAPPER.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static ObjectNode ports(Ports p) {
        ObjectNode n = object();
        n.put("pcpu", p.pcpu());
        n.put("pfsshfs", p.pfsshfs());
        n.put("transfer", p.transfer());
        return n;
    }

    /**
     * A VM as anyone may read it (the read API, the watch stream): no instance key (it names the VM to a
     * re-registration) and never its secret's hash.
     */
    public static ObjectNode vm(Vm vm) {
        return vm(vm, false);
    }

    /** A VM as the data dir stores it: with its instance key and its secret's hash. */
    public static ObjectNode vmStored(Vm vm) {
        ObjectNode n = vm(vm, true);
        if (vm.secretHash() != null) {
            n.put("secret_sha256", vm.secretHash());
        }
        return n;
    }

    /** With the instance key (the data dir, and readers that present the join token). */
    public static ObjectNode vm(Vm vm, boolean withInstance) {
        ObjectNode n = object();
        n.put("id", vm.id());
        if (withInstance && vm.instance() != null) {
            n.put("instance", vm.instance());
        }
        n.put("ip", vm.ip());
        n.put("cores", vm.cores());
        n.put("memory_mb", vm.memoryMb());
        n.put("storage_bytes", vm.storageBytes());
        ObjectNode services = n.putObject("services");
        new java.util.TreeMap<>(vm.services()).forEach(services::put);
        ObjectNode labels = n.putObject("labels");
        new java.util.TreeMap<>(vm.labels()).forEach(labels::put);
        n.set("ports", ports(vm.ports()));
        n.put("offset", vm.ports().offset());
        n.put("state", vm.status().wire());
        n.put("registered_at_ms", vm.registeredAtMillis());
        return n;
    }

    /** A VM with its liveness, for the read API ({@code withInstance}: the reader presented the join token). */
    public static ObjectNode vm(Vm vm, Liveness l, long nowNanos, boolean withInstance) {
        ObjectNode n = vm(vm, withInstance);
        if (l != null) {
            n.put("last_heartbeat_ms_ago", Math.max(0, (nowNanos - l.lastSeenNanos()) / 1_000_000));
            if (!Double.isNaN(l.load())) {
                n.put("load", l.load());
            }
            if (!Double.isNaN(l.cpuPercent())) {
                n.put("cpu_percent", l.cpuPercent());
            }
        }
        return n;
    }

    /** Reads back what {@link #vm(Vm)} wrote (the data dir). */
    public static Vm vmFrom(JsonNode n) {
        Map<String, Integer> services = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = n.get("services").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            services.put(e.getKey(), e.getValue().intValue());
        }
        Map<String, String> labels = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = n.get("labels").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            labels.put(e.getKey(), e.getValue().textValue());
        }
        return new Vm(n.get("id").textValue(), n.hasNonNull("instance") ? n.get("instance").textValue() : null,
            n.get("ip").textValue(), n.get("cores").intValue(), n.get("memory_mb").longValue(),
            n.get("storage_bytes").longValue(), services, labels, portsFrom(n),
            Vm.Status.valueOf(n.get("state").textValue().toUpperCase(java.util.Locale.ROOT)),
            n.get("registered_at_ms").longValue(),
            n.hasNonNull("secret_sha256") ? n.get("secret_sha256").textValue() : null);
    }

    /** The ports of a stored VM or reservation, as written; checked against the plan by the registry. */
    static Ports portsFrom(JsonNode n) {
        int offset = n.get("offset").intValue();
        JsonNode p = n.get("ports");
        if (p == null) {
            // written before the ports were stored with reservations: the plan was the default one then
            return PortPlan.DEFAULT.ports(offset);
        }
        return new Ports(offset, p.get("pcpu").intValue(), p.get("pfsshfs").intValue(), p.get("transfer").intValue());
    }

    /**
     * {@code {"version", "type", "reason", "vm"}}, or for a {@code released} change
     * {@code {"version", "type", "reason", "reservation": {"id", "instance", "offset", "ports"}}}.
     */
    public static ObjectNode change(Change c) {
        return change(c, false);
    }

    /** A change as the log stores it: VMs and reservations in their stored form. */
    public static ObjectNode changeStored(Change c) {
        return change(c, true);
    }

    private static ObjectNode change(Change c, boolean stored) {
        ObjectNode n = object();
        n.put("version", c.version());
        n.put("type", c.type().wire());
        n.put("reason", c.reason());
        if (c.vm() != null) {
            n.set("vm", stored ? vmStored(c.vm()) : vm(c.vm()));
        } else {
            n.set("reservation", stored ? releasedStored(c.released()) : released(c.released()));
        }
        return n;
    }

    public static Change changeFrom(JsonNode n) {
        Change.Type type = Change.Type.ofWire(n.get("type").textValue());
        String reason = n.path("reason").asText("");
        if (type == Change.Type.RELEASED) {
            return new Change(n.get("version").longValue(), type, null, releasedFrom(n.get("reservation")), reason);
        }
        return new Change(n.get("version").longValue(), type, vmFrom(n.get("vm")), reason);
    }

    /** A reservation as anyone may read it: {@code {"id", "offset", "ports"}}. */
    public static ObjectNode released(Released r) {
        ObjectNode n = object();
        n.put("id", r.id());
        n.put("offset", r.offset());
        n.set("ports", ports(r.ports()));
        return n;
    }

    /** As stored: with the instance key, the removed VM's address and its secret's hash (when known). */
    public static ObjectNode releasedStored(Released r) {
        ObjectNode n = released(r);
        if (r.instance() != null) {
            n.put("instance", r.instance());
        }
        if (r.ip() != null) {
            n.put("ip", r.ip());
        }
        if (r.secretHash() != null) {
            n.put("secret_sha256", r.secretHash());
        }
        return n;
    }

    public static Released releasedFrom(JsonNode n) {
        return new Released(n.get("id").textValue(), n.hasNonNull("instance") ? n.get("instance").textValue() : null,
            portsFrom(n), n.hasNonNull("ip") ? n.get("ip").textValue() : null,
            n.hasNonNull("secret_sha256") ? n.get("secret_sha256").textValue() : null);
    }

    /** {"error": message}. */
    public static byte[] error(String message) {
        ObjectNode n = object();
        n.put("error", message);
        return bytes(n);
    }
}
