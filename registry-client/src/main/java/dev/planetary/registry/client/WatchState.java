package dev.planetary.registry.client;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.netty.util.NetUtil;
import java.util.Map;
import java.util.TreeMap;

/**
 * The swarm as the watch knows it, owned by the watch's event loop: events are checked whole and applied to a working
 * map, and {@link #publish} makes an immutable {@link SwarmView} of it after each batch. An event that cannot be
 * applied as it is (malformed, a gap, a version that goes back) throws {@link Relist} before anything changes, so no
 * view ever holds half of an event.
 */
final class WatchState {

    /** The event cannot be applied: the watch must drop the stream and list again. */
    static class Relist extends Exception {
        final boolean malformed;

        Relist(String message, boolean malformed) {
            super(message, null, false, false);
            this.malformed = malformed;
        }
    }

    /**
     * A snapshot older than the view, from a Genesis of the view's own history that is behind (an instance of a
     * shared store still applying the others' commits): applying it would step the view back. Nothing changed.
     */
    static final class Behind extends Relist {
        Behind(String message) {
            super(message, false);
        }
    }

    /** What applying one event did. */
    enum Applied { SNAPSHOT, CHANGE, IGNORED }

    private static final ObjectMapper MAPPER = JsonMapper.builder()
        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
        .build();
    /** Genesis' ids are vm_ and 6 hex digits; anything of printable ASCII up to 64 is accepted, nothing odder. */
    private static final java.util.regex.Pattern ID = java.util.regex.Pattern.compile("[\\x21-\\x7e]{1,64}");

    private TreeMap<String, VmInfo> vms = new TreeMap<>();
    /** Removed VMs' reservations in grace, by id; kept only while {@link #graceServed}. */
    private TreeMap<String, Reservation> reservations = new TreeMap<>();
    private boolean graceServed;
    private long version;
    private boolean selfPreservation;
    private PortPlanInfo plan;
    private boolean dirty;
    /**
     * True while {@link #vms} and {@link #reservations} are the very maps of the last published view: a change
     * copies them first (copy on write), so a relist's view is not copied again when it is published.
     */
    private boolean shared;
    private boolean snapshotSeen;
    /** A snapshot below this version is refused ({@link Behind}); -1: any snapshot replaces the view. */
    private long snapshotFloor = -1;
    private SwarmView published = SwarmView.EMPTY;

    long version() {
        return version;
    }

    boolean snapshotSeen() {
        return snapshotSeen;
    }

    SwarmView published() {
        return published;
    }

    /**
     * {@code floor}: the lowest snapshot version taken from now on (the view's version while resuming on the view's
     * own history), or -1 to take any (a relist, another history).
     */
    void snapshotFloor(long floor) {
        snapshotFloor = floor;
    }

    private void checkFloor(long v) throws Behind {
        if (v < snapshotFloor) {
            throw new Behind("a snapshot at version " + v + " of the view's own history, behind the view's "
                + snapshotFloor);
        }
    }

    /** A new port plan (null: Genesis serves none); the next {@link #publish} carries it. */
    void plan(PortPlanInfo p) {
        if (!java.util.Objects.equals(p, plan)) {
            plan = p;
            dirty = true;
        }
    }

    /** A new view when something changed since the last one, else null. */
    SwarmView publish() {
        if (!dirty) {
            return null;
        }
        dirty = false;
        published = new SwarmView(version, vms, reservations, graceServed, plan, selfPreservation);
        shared = true;
        return published;
    }

    Applied apply(SseDecoder.Event e) throws Relist {
        if ("snapshot".equals(e.type()) && streamSnapshot(e)) {
            return Applied.SNAPSHOT;
        }
        JsonNode d;
        try {
            d = MAPPER.readTree(e.data());
        } catch (JsonProcessingException ex) {
            throw new Relist("event '" + SseDecoder.printable(e.type()) + "' is not JSON: "
                + SseDecoder.printable(ex.getOriginalMessage()), true);
        }
        if (d == null || !d.isObject()) {
            throw new Relist("event '" + SseDecoder.printable(e.type()) + "' is not a JSON object", true);
        }
        long v = version(d, e);
        switch (e.type()) {
            case "snapshot" -> {
                snapshot(d, v);
                return Applied.SNAPSHOT;
            }
            case "added", "updated", "draining", "removed", "released" -> {
                change(e.type(), d, v);
                return Applied.CHANGE;
            }
            default -> throw new Relist("unknown event type '" + SseDecoder.printable(e.type()) + "' at version " + v,
                true);
        }
    }

    private static long version(JsonNode d, SseDecoder.Event e) throws Relist {
        JsonNode v = d.get("version");
        if (v == null || !v.canConvertToLong() || !v.isIntegralNumber() || v.longValue() < 0) {
            throw new Relist("event '" + SseDecoder.printable(e.type()) + "' has no valid 'version'", true);
        }
        if (e.id() != null && !e.id().equals(Long.toString(v.longValue()))) {
            throw new Relist("event id '" + SseDecoder.printable(e.id()) + "' is not its version " + v.longValue(),
                true);
        }
        return v.longValue();
    }

    /**
     * A snapshot read VM by VM, each straight from the parser into its {@link VmInfo} (no tree per VM: a relist of
     * 1,999 VMs made about 5 MB of garbage that way), so a relist never holds the whole document's tree (several MB)
     * alive across the young collections that stop the event loops; only the view being built lives. Same checks and
     * messages as {@link #snapshot(JsonNode, long)}.
     * False (nothing changed) when {@code vms} comes before {@code version}, which Genesis never sends: the caller
     * then reads the whole tree.
     */
    private boolean streamSnapshot(SseDecoder.Event e) throws Relist {
        long v = -1;
        TreeMap<String, VmInfo> next = null;
        TreeMap<String, Reservation> held = null;
        boolean self = false;
        try (JsonParser p = MAPPER.createParser(e.data())) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new Relist("event 'snapshot' is not a JSON object", true);
            }
            for (JsonToken t = p.nextToken(); t == JsonToken.FIELD_NAME; t = p.nextToken()) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                switch (field) {
                    case "version" -> {
                        JsonNode n = MAPPER.readTree(p);
                        v = version(MAPPER.createObjectNode().set("version", n), e);
                        checkFloor(v);
                    }
                    case "vms", "grace" -> {
                        if (v < 0) {
                            return false;
                        }
                        if (value != JsonToken.START_ARRAY) {
                            p.skipChildren();
                            throw new Relist("vms".equals(field) ? "snapshot at version " + v + " has no 'vms' array"
                                : "snapshot at version " + v + ": 'grace' is not an array", true);
                        }
                        if ("vms".equals(field)) {
                            next = new TreeMap<>();
                            for (JsonToken t2 = p.nextToken(); t2 != JsonToken.END_ARRAY; t2 = p.nextToken()) {
                                VmInfo vm = kept(vm(p, v));
                                if (next.put(vm.id(), vm) != null) {
                                    throw new Relist("snapshot at version " + v + " lists " + vm.id() + " twice", true);
                                }
                            }
                        } else {
                            held = new TreeMap<>();
                            while (p.nextToken() != JsonToken.END_ARRAY) {
                                Reservation r = reservation(MAPPER.readTree(p), v);
                                if (held.put(r.id(), r) != null) {
                                    throw new Relist("snapshot at version " + v + " lists the reservation of "
                                        + r.id() + " twice", true);
                                }
                            }
                        }
                    }
                    case "self_preservation" -> {
                        self = value == JsonToken.VALUE_TRUE;
                        p.skipChildren();
                    }
                    default -> p.skipChildren();
                }
            }
        } catch (JsonProcessingException ex) {
            throw new Relist("event 'snapshot' is not JSON: " + SseDecoder.printable(ex.getOriginalMessage()), true);
        } catch (java.io.IOException ex) { // reading a String: only malformed input gets here
            throw new Relist("event 'snapshot' is not JSON: " + SseDecoder.printable(ex.getMessage()), true);
        }
        if (v < 0) {
            throw new Relist("event 'snapshot' has no valid 'version'", true);
        }
        if (next == null) {
            throw new Relist("snapshot at version " + v + " has no 'vms' array", true);
        }
        vms = next;
        reservations = held != null ? held : new TreeMap<>();
        shared = false;
        graceServed = held != null;
        version = v;
        selfPreservation = self;
        snapshotSeen = true;
        dirty = true;
        return true;
    }

    private void snapshot(JsonNode d, long v) throws Relist {
        checkFloor(v);
        JsonNode list = d.get("vms");
        if (list == null || !list.isArray()) {
            throw new Relist("snapshot at version " + v + " has no 'vms' array", true);
        }
        TreeMap<String, VmInfo> next = new TreeMap<>();
        for (JsonNode n : list) {
            VmInfo vm = kept(vm(n, v));
            if (next.put(vm.id(), vm) != null) {
                throw new Relist("snapshot at version " + v + " lists " + vm.id() + " twice", true);
            }
        }
        // reservations in grace: a Genesis that does not list them sends none in its changes either
        JsonNode grace = d.get("grace");
        TreeMap<String, Reservation> held = new TreeMap<>();
        if (grace != null && !grace.isArray()) {
            throw new Relist("snapshot at version " + v + ": 'grace' is not an array", true);
        }
        if (grace != null) {
            for (JsonNode n : grace) {
                Reservation r = reservation(n, v);
                if (held.put(r.id(), r) != null) {
                    throw new Relist("snapshot at version " + v + " lists the reservation of " + r.id() + " twice",
                        true);
                }
            }
        }
        vms = next;
        reservations = held;
        shared = false;
        graceServed = grace != null;
        version = v;
        selfPreservation = d.path("self_preservation").asBoolean(false);
        snapshotSeen = true;
        dirty = true;
    }

    private void change(String type, JsonNode d, long v) throws Relist {
        if (v <= version) {
            throw new Relist("version went backwards: '" + type + "' at version " + v + " after " + version, false);
        }
        if (v != version + 1) {
            throw new Relist("version gap: '" + type + "' at version " + v + " after " + version + " (missed "
                + (v - version - 1) + ")", false);
        }
        JsonNode t = d.get("type");
        if (t != null && !type.equals(t.asText())) {
            throw new Relist("event '" + type + "' at version " + v + " says type '"
                + SseDecoder.printable(t.asText()) + "'", true);
        }
        JsonNode n = d.get("vm");
        if (shared) { // the published view holds these maps: change copies
            vms = new TreeMap<>(vms);
            reservations = new TreeMap<>(reservations);
            shared = false;
        }
        if ("released".equals(type)) {
            // the end of a removed VM's grace period: its reserved ports are free again
            JsonNode r = d.get("reservation");
            String id = r == null ? null : r.path("id").textValue();
            if (id == null || !ID.matcher(id).matches()) {
                throw new Relist("'released' at version " + v + " has no valid vm id in 'reservation'", true);
            }
            reservations.remove(id);
        } else if ("removed".equals(type)) {
            String id = n == null ? null : n.path("id").textValue();
            if (id == null || !ID.matcher(id).matches()) {
                throw new Relist("'removed' at version " + v + " has no valid vm id", true);
            }
            Reservation r = graceServed ? removedReservation(n, id, v) : null; // checked before anything changes
            vms.remove(id);
            if (r != null) {
                reservations.put(id, r);
            }
        } else {
            VmInfo vm = vm(n, v);
            if ("draining".equals(type) && vm.state() != VmInfo.State.DRAINING) {
                vm = new VmInfo(vm.id(), vm.instance(), vm.ip(), vm.services(), vm.ports(), VmInfo.State.DRAINING);
            }
            vms.put(vm.id(), kept(vm));
            String instance = vm.instance();
            // A VM that registers again with its instance key within its grace period gets its id and ports back
            // (Genesis: `added`, same id): the reservation is held by a live VM again.
            reservations.remove(vm.id());
            if (instance != null) {
                reservations.values().removeIf(r -> instance.equals(r.instance()));
            }
        }
        version = v;
        dirty = true;
    }

    /**
     * The VM as the view already holds it when nothing about it changed: a relist of 1,999 unchanged VMs then
     * keeps the objects the proxy already has (long since tenured) and its new ones die at once, instead of the
     * young collector copying 1,999 new ones that equal the old (issue 8's relist pauses).
     */
    private VmInfo kept(VmInfo vm) {
        VmInfo old = vms.get(vm.id());
        return vm.equals(old) ? old : vm;
    }

    /**
     * Genesis keeps every removed VM's ports reserved for its grace period (and logs their {@code released} change
     * when it ends), so a removal makes a reservation of the ports the event states, or else of the ports the view
     * knew for the VM. Null when the VM held no ports.
     */
    private Reservation removedReservation(JsonNode n, String id, long v) throws Relist {
        VmInfo known = vms.get(id);
        Map<String, Integer> ports = n.has("ports") ? ports(n, "ports", id, v)
            : known != null ? known.ports() : Map.of();
        if (ports.isEmpty()) {
            return null;
        }
        JsonNode inst = n.get("instance");
        String instance = inst != null && inst.isTextual() ? inst.textValue() : known != null ? known.instance() : null;
        return new Reservation(id, instance, offset(n, id, v, false), ports);
    }

    /** One entry of a snapshot's {@code grace} list: {@code {"id", "instance" (optional), "offset", "ports"}}. */
    private static Reservation reservation(JsonNode n, long v) throws Relist {
        if (n == null || !n.isObject()) {
            throw new Relist("a reservation at version " + v + " is not an object", true);
        }
        String id = n.path("id").textValue();
        if (id == null || !ID.matcher(id).matches()) {
            throw new Relist("a reservation at version " + v + " has no valid 'id'", true);
        }
        JsonNode inst = n.get("instance");
        String instance = inst == null || inst.isNull() ? null : inst.textValue();
        if (inst != null && !inst.isNull() && instance == null) {
            throw new Relist("reservation " + id + " at version " + v + ": 'instance' is not a string", true);
        }
        return new Reservation(id, instance, offset(n, id, v, true), ports(n, "ports", id, v));
    }

    /** The port plan offset {@code n} states; -1 when it states none and none is required. */
    private static int offset(JsonNode n, String id, long v, boolean required) throws Relist {
        JsonNode o = n.get("offset");
        if (o == null && !required) {
            return -1;
        }
        if (o == null || !o.isIntegralNumber() || o.longValue() < 0 || o.longValue() > 65535) {
            throw new Relist(id + " at version " + v + ": 'offset' is not a port plan offset", true);
        }
        return o.intValue();
    }

    /** A VM of a change event, from its tree: the same fields and checks as {@link #vm(JsonParser, long)}. */
    private static VmInfo vm(JsonNode n, long v) throws Relist {
        if (n == null || !n.isObject()) {
            throw new Relist("a VM at version " + v + " is not an object", true);
        }
        JsonNode inst = n.get("instance");
        String instance = inst == null || inst.isNull() ? null : inst.textValue();
        return vm(n.path("id").textValue(), instance, inst != null && !inst.isNull() && instance == null,
            n.path("ip").textValue(), n.path("state").textValue(), PortsRead.of(n.get("services")),
            PortsRead.of(n.get("ports")), v);
    }

    /**
     * A VM of a snapshot straight from the parser, which stands on its first token; reads it to its end. Fields may
     * come in any order: they are read first and checked after, in the order and with the messages of the tree
     * version, so a refusal names the VM even when its id comes last.
     */
    private static VmInfo vm(JsonParser p, long v) throws Relist, java.io.IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            p.skipChildren();
            throw new Relist("a VM at version " + v + " is not an object", true);
        }
        String id = null;
        String instance = null;
        boolean instanceBad = false;
        String ip = null;
        String state = null;
        PortsRead services = PortsRead.MISSING;
        PortsRead ports = PortsRead.MISSING;
        for (JsonToken t = p.nextToken(); t == JsonToken.FIELD_NAME; t = p.nextToken()) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            switch (field) {
                case "id" -> id = text(p, value);
                case "ip" -> ip = text(p, value);
                case "state" -> state = text(p, value);
                case "instance" -> {
                    instance = text(p, value);
                    instanceBad = instance == null && value != JsonToken.VALUE_NULL;
                }
                case "services" -> services = PortsRead.of(p, value);
                case "ports" -> ports = PortsRead.of(p, value);
                default -> p.skipChildren();
            }
        }
        return vm(id, instance, instanceBad, ip, state, services, ports, v);
    }

    /** The string value the parser stands on, or null (anything else, skipped), as {@code JsonNode.textValue()}. */
    private static String text(JsonParser p, JsonToken value) throws java.io.IOException {
        if (value == JsonToken.VALUE_STRING) {
            return p.getText();
        }
        p.skipChildren();
        return null;
    }

    /** Checks a VM's fields (either reading) in one order, with one set of messages. */
    private static VmInfo vm(String id, String instance, boolean instanceBad, String ip, String st, PortsRead services,
                             PortsRead ports, long v) throws Relist {
        if (id == null || !ID.matcher(id).matches()) {
            throw new Relist("a VM at version " + v + " has no valid 'id'", true);
        }
        if (instanceBad) {
            throw new Relist(id + " at version " + v + ": 'instance' is not a string", true);
        }
        if (ip == null || !(NetUtil.isValidIpV4Address(ip) || NetUtil.isValidIpV6Address(ip))) {
            throw new Relist(id + " at version " + v + ": 'ip' is not an IP address", true);
        }
        VmInfo.State state;
        if ("active".equals(st)) {
            state = VmInfo.State.ACTIVE;
        } else if ("draining".equals(st)) {
            state = VmInfo.State.DRAINING;
        } else {
            throw new Relist(id + " at version " + v + ": 'state' is not active or draining", true);
        }
        return new VmInfo(id, instance, ip, services.checked("services", id, v), ports.checked("ports", id, v), state);
    }

    private static Map<String, Integer> ports(JsonNode n, String field, String id, long v) throws Relist {
        return PortsRead.of(n.get(field)).checked(field, id, v);
    }

    /**
     * A name-to-port object as read, checked later (a VM's id may come after its ports): the ports, or null when the
     * field is missing or not an object; the first key whose value is not a port 1..65535.
     */
    private record PortsRead(Map<String, Integer> ports, String bad) {
        static final PortsRead MISSING = new PortsRead(null, null);

        static PortsRead of(JsonNode o) {
            if (o == null || !o.isObject()) {
                return MISSING;
            }
            Map<String, Integer> out = new java.util.HashMap<>();
            String bad = null;
            for (Map.Entry<String, JsonNode> e : o.properties()) {
                JsonNode p = e.getValue();
                if (p.isIntegralNumber() && p.canConvertToInt() && p.intValue() >= 1 && p.intValue() <= 65535) {
                    out.put(e.getKey(), p.intValue());
                } else if (bad == null) {
                    bad = e.getKey();
                }
            }
            return new PortsRead(out, bad);
        }

        /** Reads the value the parser stands on (to its end). */
        static PortsRead of(JsonParser p, JsonToken value) throws java.io.IOException {
            if (value != JsonToken.START_OBJECT) {
                p.skipChildren();
                return MISSING;
            }
            Map<String, Integer> out = new java.util.HashMap<>();
            String bad = null;
            for (JsonToken t = p.nextToken(); t == JsonToken.FIELD_NAME; t = p.nextToken()) {
                String key = p.currentName();
                JsonToken n = p.nextToken();
                if (n == JsonToken.VALUE_NUMBER_INT && p.getNumberType() == JsonParser.NumberType.INT
                    && p.getIntValue() >= 1 && p.getIntValue() <= 65535) {
                    out.put(key, p.getIntValue());
                } else {
                    p.skipChildren();
                    if (bad == null) {
                        bad = key;
                    }
                }
            }
            return new PortsRead(out, bad);
        }

        Map<String, Integer> checked(String field, String id, long v) throws Relist {
            if (ports == null) {
                throw new Relist(id + " at version " + v + ": '" + field + "' is not an object", true);
            }
            if (bad != null) {
                throw new Relist(id + " at version " + v + ": " + field + "." + SseDecoder.printable(bad)
                    + " is not a port 1..65535", true);
            }
            return ports;
        }
    }

    /** Parses Genesis' {@code GET /api/ports/plan} answer; unknown fields are ignored (it may grow). */
    static PortPlanInfo parsePlan(byte[] body) {
        JsonNode d;
        try {
            d = MAPPER.readTree(body);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("port plan is not JSON: " + SseDecoder.printable(e.getMessage()));
        }
        if (d == null || !d.path("kinds").isObject()) {
            throw new IllegalArgumentException("port plan has no 'kinds' object");
        }
        Map<String, PortPlanInfo.Range> kinds = new TreeMap<>();
        for (Map.Entry<String, JsonNode> e : d.get("kinds").properties()) {
            JsonNode low = e.getValue().get("low");
            JsonNode high = e.getValue().get("high");
            if (low == null || high == null || !low.isIntegralNumber() || !high.isIntegralNumber()) {
                throw new IllegalArgumentException("port plan kind '" + SseDecoder.printable(e.getKey())
                    + "' needs integer 'low' and 'high'");
            }
            kinds.put(e.getKey(), new PortPlanInfo.Range(low.intValue(), high.intValue()));
        }
        JsonNode max = d.get("max_vms");
        JsonNode grace = d.get("grace_ms");
        return new PortPlanInfo(kinds, max != null && max.isIntegralNumber() ? max.intValue() : -1,
            grace != null && grace.isIntegralNumber() ? grace.longValue() : -1);
    }
}
