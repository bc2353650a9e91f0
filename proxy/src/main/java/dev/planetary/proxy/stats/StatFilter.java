package dev.planetary.proxy.stats;

/**
 * {@code show stat [{proxy|-1} {type|-1} {sid|-1}]}: a proxy by name or id, a mask of row types (1 frontends,
 * 2 backends, 4 servers), a server id; -1 for any.
 */
public record StatFilter(String proxy, int types, int sid) {

    public static final StatFilter ALL = new StatFilter(null, -1, -1);

    public boolean accepts(StatRow row) {
        if (proxy != null && !proxy.equals(row.proxyName()) && !proxy.equals(Integer.toString(row.iid()))) {
            return false;
        }
        if (types != -1 && (types & row.type().bit()) == 0) {
            return false;
        }
        return sid == -1 || row.type() != StatRow.Type.SERVER || row.sid() == sid;
    }
}
