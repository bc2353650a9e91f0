package dev.planetary.registry.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.planetary.registry.Json;
import dev.planetary.registry.state.Registration;
import dev.planetary.registry.state.Registry;
import dev.planetary.registry.state.Settings;
import dev.planetary.registry.state.View;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The spliced peers array: valid JSON, every other active VM in id order, for any position of the registrant. */
class PeersTest {

    private final Registry registry = new Registry(Settings.defaults(), new Random(3));
    private final Peers peers = new Peers();

    private String add(int i) throws Exception {
        return registry.register(new Registration(null, 1, 0, 0, Map.of("ssh", 22), Map.of(), "p" + i), "127.0.0.1",
            1_000_000_000L, 0).vm().id();
    }

    private List<String> ids(View v, String self) throws Exception {
        ByteBuf b = peers.of(v, self);
        JsonNode arr = Json.MAPPER.readTree(ByteBufUtil.getBytes(b));
        b.release();
        List<String> out = new ArrayList<>();
        arr.forEach(n -> {
            assertThat(n.at("/ports/pcpu").intValue()).isGreaterThan(10_000);
            assertThat(n.at("/services/ssh").intValue()).isEqualTo(22);
            out.add(n.get("id").asText());
        });
        return out;
    }

    @Test
    void everyOtherActiveVmForEachPositionOfTheRegistrant() throws Exception {
        assertThat(ids(registry.view(), "vm_000000")).isEmpty();
        String only = add(0);
        assertThat(ids(registry.view(), only)).as("alone").isEmpty();
        for (int i = 1; i < 5; i++) {
            add(i);
        }
        View v = registry.view();
        List<String> all = List.copyOf(v.vms().keySet());
        for (String self : all) {
            List<String> expected = new ArrayList<>(all);
            expected.remove(self);
            assertThat(ids(v, self)).as("peers of %s", self).isEqualTo(expected);
        }
        assertThat(ids(v, "vm_ffffff")).as("not registered: everyone").isEqualTo(all);
        registry.leave(all.get(2), 2_000_000_000L);
        View after = registry.view();
        List<String> expected = new ArrayList<>(all);
        expected.remove(2);
        expected.remove(0);
        assertThat(ids(after, all.get(0))).as("a draining VM is not a peer").isEqualTo(expected);
    }
}
