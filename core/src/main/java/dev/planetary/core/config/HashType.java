package dev.planetary.core.config;

/** The {@code hash-type} keyword's supported values; HAProxy's default is map-based. */
public enum HashType {
    MAP_BASED, CONSISTENT;

    public String keyword() {
        return this == MAP_BASED ? "map-based" : "consistent";
    }
}
