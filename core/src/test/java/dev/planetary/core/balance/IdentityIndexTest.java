package dev.planetary.core.balance;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.backend.Server;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class IdentityIndexTest {

    @Test
    void everyServerIsFoundAtItsPositionAndNoOtherIs() {
        for (int n : new int[] {0, 1, 2, 3, 7, 64, 1999}) {
            Server[] servers = TestServers.servers(n, 1).toArray(new Server[0]);
            IdentityIndex index = new IdentityIndex(servers);
            for (int i = 0; i < n; i++) {
                assertThat(index.get(servers[i])).as("n=%d, server %d", n, i).isEqualTo(i);
            }
            for (Server other : TestServers.servers(50, 1)) { // equal names, other objects: by identity
                assertThat(index.get(other)).as("n=%d", n).isEqualTo(-1);
            }
        }
    }
}
