package dev.planetary.proxy;

import dev.planetary.core.backend.Server;
import dev.planetary.core.connect.ServerPool;

/** A running backend as a connect attempt sees it; a release also hands the freed slot to the backend's queue. */
final class BackendPool implements ServerPool {

    private final ProxyBackend backend;

    BackendPool(ProxyBackend backend) {
        this.backend = backend;
    }

    @Override
    public Server pick(int sourceHash, Server avoid) {
        return backend.pick(sourceHash, avoid);
    }

    @Override
    public Server reacquire(Server server) {
        return backend.reacquire(server);
    }

    @Override
    public boolean anyUsable() {
        return backend.anyUsable();
    }

    @Override
    public void release(Server server) {
        backend.release(server);
    }
}
