package dev.planetary.registry.client;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An immutable name-to-port map of a {@link VmInfo} (its services, its gateway ports): the names sorted in an array
 * shared by every map with the same names, the ports in an {@code int[]}. A swarm of 1,999 VMs keeps two per VM, and
 * the JDK's compact map kept an array of twice as many slots as entries plus a boxed Integer per port above 127: 272
 * bytes and ten objects per VM against 112 bytes and four here, which the young collections during a whole-swarm
 * relist copy (issue 8). Read through {@link #port(String)} without boxing.
 */
final class PortMap extends AbstractMap<String, Integer> {

    static final PortMap EMPTY = new PortMap(new String[0], new int[0]);

    /**
     * How many distinct name sets are shared at most: VMs of one swarm declare a handful of sets; a registry that
     * sent more would only make later maps keep their own arrays, never grow this without bound.
     */
    static final int SHARED_NAME_SETS = 256;

    private static final ConcurrentHashMap<List<String>, String[]> NAMES = new ConcurrentHashMap<>();

    private final String[] names;
    private final int[] ports;

    private PortMap(String[] names, int[] ports) {
        this.names = names;
        this.ports = ports;
    }

    /** A copy of {@code map} (no null names or ports, as {@link Map#copyOf}); a PortMap is returned as it is. */
    static PortMap copyOf(Map<String, Integer> map) {
        if (map instanceof PortMap pm) {
            return pm;
        }
        if (map.isEmpty()) {
            return EMPTY;
        }
        String[] names = map.keySet().toArray(new String[0]);
        for (String n : names) {
            Objects.requireNonNull(n, "name");
        }
        Arrays.sort(names);
        int[] ports = new int[names.length];
        for (int i = 0; i < names.length; i++) {
            ports[i] = Objects.requireNonNull(map.get(names[i]), "port");
        }
        return new PortMap(shared(names), ports);
    }

    private static String[] shared(String[] names) {
        List<String> key = Arrays.asList(names);
        String[] known = NAMES.get(key);
        if (known != null) {
            return known;
        }
        if (NAMES.size() >= SHARED_NAME_SETS) {
            return names;
        }
        known = NAMES.putIfAbsent(key, names);
        return known != null ? known : names;
    }

    /** The port of {@code name}, or -1 when there is none. */
    int port(String name) {
        int i = indexOf(name);
        return i < 0 ? -1 : ports[i];
    }

    private int indexOf(Object name) {
        for (int i = 0; i < names.length; i++) {
            if (names[i] == name) {
                return i; // names are mostly the parser's interned strings: identity first
            }
        }
        return name instanceof String ? Arrays.binarySearch(names, name) : -1;
    }

    @Override
    public int size() {
        return names.length;
    }

    @Override
    public boolean containsKey(Object name) {
        return indexOf(name) >= 0;
    }

    @Override
    public Integer get(Object name) {
        int i = indexOf(name);
        return i < 0 ? null : ports[i];
    }

    /**
     * Two PortMaps compare by their arrays: names sorted, so same names and same ports is exactly the equality of
     * maps, with no iterator or entry made (AbstractMap's made about nine objects per map, and a relist compares both
     * maps of every VM it keeps, see WatchState). Against any other map, AbstractMap's comparison of entries, which
     * is what that map's own equals does against this one through {@link #get} and {@link #size}: symmetric.
     */
    @Override
    public boolean equals(Object o) {
        if (o == this) {
            return true;
        }
        if (o instanceof PortMap pm) {
            return (names == pm.names || Arrays.equals(names, pm.names)) && Arrays.equals(ports, pm.ports);
        }
        return super.equals(o);
    }

    /** As {@link Map#hashCode()} (the sum of name hash xor port), without boxing or entries. */
    @Override
    public int hashCode() {
        int h = 0;
        for (int i = 0; i < names.length; i++) {
            h += names[i].hashCode() ^ ports[i];
        }
        return h;
    }

    @Override
    public Set<Entry<String, Integer>> entrySet() {
        return new AbstractSet<>() {
            @Override
            public int size() {
                return names.length;
            }

            @Override
            public Iterator<Entry<String, Integer>> iterator() {
                return new Iterator<>() {
                    private int next;

                    @Override
                    public boolean hasNext() {
                        return next < names.length;
                    }

                    @Override
                    public Entry<String, Integer> next() {
                        if (next >= names.length) {
                            throw new NoSuchElementException();
                        }
                        int i = next++;
                        return new SimpleImmutableEntry<>(names[i], ports[i]);
                    }
                };
            }
        };
    }
}
