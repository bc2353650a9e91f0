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

    /**
     * A relist compares every VM's two maps with the ones it had (WatchState.kept): two PortMaps compare by their
     * arrays, with the equality of maps (same names, same ports), and still equal an ordinary map with the same
     * entries, both ways, with the same hash code.
     */
    @Test
    void comparesWithAnotherPortMapByItsArraysAndStillAsAMap() {
        PortMap a = PortMap.copyOf(Map.of("pcpu", 7000, "ssh", 22));
        PortMap same = PortMap.copyOf(new HashMap<>(Map.of("ssh", 22, "pcpu", 7000)));
        PortMap otherPorts = PortMap.copyOf(Map.of("pcpu", 7000, "ssh", 2222));
        PortMap otherNames = PortMap.copyOf(Map.of("pcpu", 7000, "ws", 22));
        PortMap fewer = PortMap.copyOf(Map.of("pcpu", 7000));
        assertThat(a).isEqualTo(same).hasSameHashCodeAs(same);
        assertThat(a).as("same names, other ports").isNotEqualTo(otherPorts);
        assertThat(a).as("other names, same ports").isNotEqualTo(otherNames);
        assertThat(a).isNotEqualTo(fewer);
        assertThat(fewer).isNotEqualTo(a);
        Map<String, Integer> plain = new HashMap<>(Map.of("pcpu", 7000, "ssh", 22));
        assertThat(a).isEqualTo(plain).hasSameHashCodeAs(plain);
        assertThat(plain).isEqualTo(a);
        assertThat(Map.of("pcpu", 7000, "ssh", 22)).isEqualTo(a);
        assertThat(a).isNotEqualTo(Map.of("pcpu", 7000, "ssh", 2222));
        assertThat(Map.of("pcpu", 7000, "ssh", 2222)).isNotEqualTo(a);
        assertThat(a.equals(null)).isFalse();
        assertThat(PortMap.EMPTY).isEqualTo(Map.of()).hasSameHashCodeAs(Map.of());
    }

    /** Review finding 5: AbstractMap's equals made an iterator and an entry per name (18 objects per VM per relist). */
    @Test
    void twoPortMapsCompareWithoutAllocating() {
        PortMap a = PortMap.copyOf(Map.of("pcpu", 7000, "ssh", 2222, "ws", 8080));
        PortMap b = PortMap.copyOf(new HashMap<>(Map.of("pcpu", 7000, "ssh", 2222, "ws", 8080)));
        com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long id = Thread.currentThread().getId();
        boolean all = true;
        long before = threads.getThreadAllocatedBytes(id);
        for (int i = 0; i < 2_000; i++) {
            all &= a.equals(b) & b.hashCode() == a.hashCode();
        }
        long allocated = threads.getThreadAllocatedBytes(id) - before;
        assertThat(all).isTrue();
        // AbstractMap's equals and hashCode: about 800 KB for these 2,000 rounds; the margin is for the measuring
        assertThat(allocated).as("bytes allocated by 2,000 equals and hashCode").isLessThan(64 * 1024);
    }

    private static Object names(PortMap m) throws ReflectiveOperationException {
        Field f = PortMap.class.getDeclaredField("names");
        f.setAccessible(true);
        return f.get(m);
    }
}
