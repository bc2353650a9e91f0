package dev.planetary.registry.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.Field;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PortMapTest {

    @Test
    void readsAndComparesAsTheMapItCopiedAndSharesItsNames() throws Exception {
        Map<String, Integer> given = Map.of("pcpu", 7000, "ssh", 22, "ws", 8080);
        PortMap a = PortMap.copyOf(given);
        PortMap b = PortMap.copyOf(new HashMap<>(Map.of("ws", 9090, "pcpu", 7001, "ssh", 2222)));
        assertThat(a).isEqualTo(given).hasSameHashCodeAs(given);
        assertThat(given).isEqualTo(a);
        assertThat(a.port("ws")).isEqualTo(8080);
        assertThat(a.port(new String("ssh"))).as("by value, not only identity").isEqualTo(22);
        assertThat(a.port("nope")).isEqualTo(-1);
        assertThat(a.get("pcpu")).isEqualTo(7000);
        assertThat(a.get(null)).isNull();
        assertThat(a.containsKey("ssh")).isTrue();
        assertThat(names(a)).as("one array for one set of names").isSameAs(names(b));
        assertThat(PortMap.copyOf(Map.of())).isEmpty();
        assertThat(PortMap.copyOf(a)).isSameAs(a);
        assertThatThrownBy(() -> a.put("x", 1)).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(a::clear).isInstanceOf(UnsupportedOperationException.class);
        Map<String, Integer> withNull = new HashMap<>();
        withNull.put("x", null);
        assertThatThrownBy(() -> PortMap.copyOf(withNull)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void aVmReadsItsPortsWithoutBoxing() {
        VmInfo vm = new VmInfo("vm_000001", null, "10.0.0.1", Map.of("pcpu", 7000), Map.of("pcpu", 10001),
            VmInfo.State.ACTIVE);
        assertThat(vm.service("pcpu")).isEqualTo(7000);
        assertThat(vm.service("ssh")).isEqualTo(-1);
        assertThat(vm.port("pcpu")).isEqualTo(10001);
        assertThat(vm.services()).isInstanceOf(PortMap.class).isEqualTo(Map.of("pcpu", 7000));
    }

    private static Object names(PortMap m) throws ReflectiveOperationException {
        Field f = PortMap.class.getDeclaredField("names");
        f.setAccessible(true);
        return f.get(m);
    }
}
