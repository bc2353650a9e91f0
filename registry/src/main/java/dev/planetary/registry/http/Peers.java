package dev.planetary.registry.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.planetary.registry.Json;
import dev.planetary.registry.state.View;
import dev.planetary.registry.state.Vm;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * The {@code peers} array of a registration's answer: every other active VM. At 2,000 VMs that is ~300 KB of JSON
 * per answer, and building it as a Jackson tree per registration was most of the registry's allocation and held the
 * event loop (and the heartbeats queued on it) for milliseconds. Here each VM is serialised once, when it changes
 * (a {@link Vm} is immutable: the same instance in the next view reuses its bytes), the array is joined once per
 * published view, and an answer is a slice of it without the registrant's own entry, with no copy.
 */
public final class Peers {

    private static final byte[] EMPTY = "[]".getBytes(StandardCharsets.US_ASCII);

    /** One view's array: {@code json} is {@code [a,b,c]}; {@code at} gives each entry's start and end in it. */
    private record Joined(View view, byte[] json, Map<String, int[]> at, Map<String, Entry> entries) {
    }

    private record Entry(Vm vm, byte[] json) {
    }

    private volatile Joined current = new Joined(View.empty(), EMPTY, Map.of(), Map.of());

    /** The peers of {@code self} in view {@code v}, as a JSON array (a read-only buffer over shared bytes). */
    public ByteBuf of(View v, String self) {
        Joined j = joined(v);
        int[] range = j.at().get(self);
        if (range == null) {
            return Unpooled.wrappedBuffer(j.json());
        }
        // drop "entry," or, for the last entry, ",entry"
        int from = range[0];
        int to = range[1];
        if (to < j.json().length - 1) {
            to++; // its trailing comma
        } else if (from > 1) {
            from--; // the comma before it
        }
        return Unpooled.wrappedBuffer(Unpooled.wrappedBuffer(j.json(), 0, from),
            Unpooled.wrappedBuffer(j.json(), to, j.json().length - to));
    }

    private Joined joined(View v) {
        Joined j = current;
        if (j.view() == v) {
            return j;
        }
        // racing event loops may both build it: the same bytes, and the later publish wins
        Joined built = join(v, j.entries());
        if (current.view().version() <= v.version()) {
            current = built;
        }
        return built;
    }

    private static Joined join(View v, Map<String, Entry> previous) {
        Map<String, Entry> entries = new HashMap<>();
        Map<String, int[]> at = new HashMap<>();
        int size = 2;
        for (Vm vm : v.vms().values()) {
            if (vm.status() != Vm.Status.ACTIVE) {
                continue;
            }
            Entry e = previous.get(vm.id());
            if (e == null || e.vm() != vm) {
                e = new Entry(vm, Json.bytes(peer(vm)));
            }
            entries.put(vm.id(), e);
            size += e.json().length + 1;
        }
        byte[] json = new byte[Math.max(2, size - (entries.isEmpty() ? 0 : 1))];
        json[0] = '[';
        int pos = 1;
        for (Vm vm : v.vms().values()) {
            Entry e = entries.get(vm.id());
            if (e == null) {
                continue;
            }
            if (pos > 1) {
                json[pos++] = ',';
            }
            System.arraycopy(e.json(), 0, json, pos, e.json().length);
            at.put(vm.id(), new int[] {pos, pos + e.json().length});
            pos += e.json().length;
        }
        json[pos] = ']';
        return new Joined(v, json, at, entries);
    }

    private static ObjectNode peer(Vm p) {
        ObjectNode pn = Json.object();
        pn.put("id", p.id());
        pn.put("ip", p.ip());
        pn.set("ports", Json.ports(p.ports()));
        ObjectNode s = pn.putObject("services");
        new java.util.TreeMap<>(p.services()).forEach(s::put);
        return pn;
    }
}
