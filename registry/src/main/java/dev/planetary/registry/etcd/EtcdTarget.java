package dev.planetary.registry.etcd;

/** Where a Genesis instance keeps its state on etcd: the cluster, and the key prefix its registry lives under. */
public record EtcdTarget(EtcdEndpoints endpoints, String prefix) {

    /** The registry's keys under {@link EtcdStore#PREFIX}. */
    public EtcdTarget(EtcdEndpoints endpoints) {
        this(endpoints, EtcdStore.PREFIX);
    }
}
