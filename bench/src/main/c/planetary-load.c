/*
 * The bench harness's own load tool, for the two loads where Debian's tools cost the generator more than a proxy
 * costs itself, so that "direct" could not rank the proxies:
 *
 *   planetary-load sink PORT...                bulk's backend: drops what it reads without copying it
 *                                              (recv with MSG_TRUNC); when the sender ends its half it answers the
 *                                              bytes it got on that connection (8 bytes, big-endian) and closes
 *   planetary-load bulk PORT STREAMS SECONDS   bulk's client: sendfile from a memfd (no copy either) over STREAMS
 *                                              connections for SECONDS, then half-closes and waits for the counts;
 *                                              prints "BULK bytes=N nanos=N sent=N" (bytes the sink got, first
 *                                              byte to last count, bytes sent: a proxy that lost any shows)
 *   planetary-load respond PROCS PORT...       the HTTP responder behind request/response and new connections:
 *                                              PROCS processes, each with its own SO_REUSEPORT listener per port;
 *                                              answers every request with a fixed 200 and closes after answering
 *                                              a request that asked for "Connection: close"
 *
 * sink and respond print "READY" once they listen (respond: once every process does) and run until SIGTERM;
 * respond exits 3 if one of its processes ends before that. Linux only; every loop is bounded by the caller's
 * duration or by the harness stopping the process.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256
#define MAX_FDS 65536
#define BULK_FILE (4u << 20)
#define BULK_CHUNK (1u << 20)
#define REQ_MAX 4096
#define SINK_LOWAT (256 << 10)
#define LOWAT_DONE 64 /* reads after which a buffer that never grew is left as it is: no getsockopt per read */

static void die(const char *what) {
    fprintf(stderr, "planetary-load: %s: %s\n", what, strerror(errno));
    exit(2);
}

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int port_arg(const char *s) {
    char *end;
    long p = strtol(s, &end, 10);
    if (*s == 0 || *end != 0 || p < 1 || p > 65535) {
        fprintf(stderr, "planetary-load: not a port: %s\n", s);
        exit(2);
    }
    return (int) p;
}

static struct sockaddr_in loopback(int port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t) port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int listener(int port, int reuseport) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) die("SO_REUSEPORT");
    struct sockaddr_in a = loopback(port);
    if (bind(fd, (struct sockaddr *) &a, sizeof a) < 0) die("bind");
    if (listen(fd, 4096) < 0) die("listen");
    return fd;
}

static void add(int ep, int fd, uint32_t events) {
    struct epoll_event ev = {.events = events, .data.fd = fd};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
}

static unsigned char *is_listener; /* per descriptor */

/* An epoll set with a listener on each port (marked in is_listener). */
static int listen_all(int nports, char **ports, int reuseport) {
    is_listener = calloc(MAX_FDS, 1);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0 || !is_listener) die("set-up");
    for (int i = 0; i < nports; i++) {
        int l = listener(port_arg(ports[i]), reuseport);
        is_listener[l] = 1;
        add(ep, l, EPOLLIN);
    }
    return ep;
}

/* A connection waiting on listener l (a descriptor below MAX_FDS), or -1 when none is. */
static int accept_next(int l) {
    for (;;) {
        int c = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < MAX_FDS) return c;
        close(c);
    }
}

/*
 * A server's loop, until a signal stops the process: each new connection (at most 64 per listener and wake-up) goes
 * to on_accept, which adds it to the epoll set; each readable one to on_read.
 */
static _Noreturn void serve(int ep, void (*on_accept)(int ep, int c), void (*on_read)(int fd)) {
    struct epoll_event evs[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno != EINTR) die("epoll_wait");
            continue;
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (is_listener[fd]) {
                int c;
                for (int k = 0; k < 64 && (c = accept_next(fd)) >= 0; k++) on_accept(ep, c);
            } else {
                on_read(fd);
            }
        }
    }
}

/* ---- sink ---------------------------------------------------------------------------------------------------- */

static unsigned long long *received; /* per descriptor */
static unsigned char *lowat_tries;    /* per descriptor: reads that looked for the buffer; LOWAT_DONE once set or not wanted */
static int several_cpus;              /* this process may run on more than one CPU */

/*
 * On several CPUs the sink is woken for each arrival, and the wake-ups cost its sender's CPU (direct: 1.6 GB/s
 * against 5.8 with this). So it asks to be woken per SINK_LOWAT bytes instead, but only once the receive buffer has
 * grown to four times that: set earlier, SO_RCVLOWAT also clamps the receive window to it. On one CPU the sink runs
 * only when its sender yields, in batches already, and a low-water mark made direct slower (3.1 GB/s against 2.2).
 */
static void sink_lowat(int fd) {
    int rcvbuf = 0;
    socklen_t len = sizeof rcvbuf;
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len) == 0 && rcvbuf >= 4 * SINK_LOWAT) {
        int lowat = SINK_LOWAT;
        setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof lowat);
        lowat_tries[fd] = LOWAT_DONE;
    } else {
        lowat_tries[fd]++;
    }
}

static void sink_answer(int fd) {
    unsigned char out[8];
    unsigned long long n = received[fd];
    for (int i = 7; i >= 0; i--) {
        out[i] = (unsigned char) (n & 0xff);
        n >>= 8;
    }
    /* the connection's send buffer is empty (nothing was ever written to it): 8 bytes fit at once */
    (void) send(fd, out, sizeof out, MSG_NOSIGNAL);
    close(fd);
}

static void sink_accept(int ep, int c) {
    received[c] = 0;
    lowat_tries[c] = several_cpus ? 0 : LOWAT_DONE;
    add(ep, c, EPOLLIN | EPOLLRDHUP);
}

static void sink_read(int fd) {
    static char drop[BULK_CHUNK]; /* never written: MSG_TRUNC discards without copying */
    for (;;) {
        ssize_t r = recv(fd, drop, sizeof drop, MSG_TRUNC | MSG_DONTWAIT);
        if (r > 0) {
            received[fd] += (unsigned long long) r;
            if (lowat_tries[fd] < LOWAT_DONE) {
                sink_lowat(fd);
            }
        } else if (r == 0) {
            sink_answer(fd); /* close() also takes it out of the epoll set */
            return;
        } else {
            if (errno != EAGAIN && errno != EINTR) close(fd);
            return;
        }
    }
}

static _Noreturn void sink(int argc, char **argv) {
    received = calloc(MAX_FDS, sizeof *received);
    lowat_tries = calloc(MAX_FDS, 1);
    if (!received || !lowat_tries) die("sink set-up");
    cpu_set_t cpus;
    several_cpus = sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) > 1;
    int ep = listen_all(argc, argv, 0);
    printf("READY\n");
    fflush(stdout);
    serve(ep, sink_accept, sink_read);
}

/* ---- bulk ---------------------------------------------------------------------------------------------------- */

static int bulk(int port, int streams, int seconds) {
    int mem = memfd_create("planetary-load-bulk", MFD_CLOEXEC);
    if (mem < 0) die("memfd_create");
    if (ftruncate(mem, BULK_FILE) < 0) die("ftruncate");
    unsigned char *p = mmap(NULL, BULK_FILE, PROT_READ | PROT_WRITE, MAP_SHARED, mem, 0);
    if (p == MAP_FAILED) die("mmap");
    for (unsigned i = 0; i < BULK_FILE; i++) p[i] = (unsigned char) (i * 2654435761u >> 24);
    munmap(p, BULK_FILE);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    int *fds = calloc((size_t) streams, sizeof *fds);
    off_t *offs = calloc((size_t) streams, sizeof *offs);
    unsigned char (*ans)[8] = calloc((size_t) streams, 8);
    int *got = calloc((size_t) streams, sizeof *got);
    unsigned long long sent = 0;
    if (!fds || !offs || !ans || !got) die("calloc");
    struct sockaddr_in a = loopback(port);
    for (int i = 0; i < streams; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fds[i] < 0) die("socket");
        if (connect(fds[i], (struct sockaddr *) &a, sizeof a) < 0) die("connect");
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t) i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) < 0) die("epoll_ctl");
    }
    long long start = now_ns();
    long long end = start + seconds * 1000000000LL;
    struct epoll_event evs[MAX_EVENTS];
    while (now_ns() < end) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, 100);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int i = 0; i < n; i++) {
            int s = (int) evs[i].data.u32;
            for (int k = 0; k < 64; k++) {
                if (offs[s] >= (off_t) BULK_FILE) offs[s] = 0;
                ssize_t w = sendfile(fds[s], mem, &offs[s], BULK_FILE - (size_t) offs[s] < BULK_CHUNK
                        ? BULK_FILE - (size_t) offs[s] : BULK_CHUNK);
                if (w < 0) {
                    if (errno == EAGAIN || errno == EINTR) break;
                    die("sendfile");
                }
                sent += (unsigned long long) w;
            }
        }
    }
    for (int i = 0; i < streams; i++) {
        shutdown(fds[i], SHUT_WR);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t) i};
        epoll_ctl(ep, EPOLL_CTL_MOD, fds[i], &ev);
    }
    long long last = now_ns();
    long long give_up = last + 20 * 1000000000LL;
    int answered = 0;
    while (answered < streams && now_ns() < give_up) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, 100);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int i = 0; i < n; i++) {
            int s = (int) evs[i].data.u32;
            ssize_t r = recv(fds[s], ans[s] + got[s], (size_t) (8 - got[s]), MSG_DONTWAIT);
            if (r > 0) {
                got[s] += (int) r;
                if (got[s] == 8) {
                    answered++;
                    last = now_ns();
                    epoll_ctl(ep, EPOLL_CTL_DEL, fds[s], NULL);
                }
            } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                fprintf(stderr, "planetary-load: stream %d ended before the sink's count\n", s);
                return 1;
            }
        }
    }
    if (answered < streams) {
        fprintf(stderr, "planetary-load: %d of %d streams had no count from the sink within 20 s\n",
                streams - answered, streams);
        return 1;
    }
    unsigned long long total = 0;
    for (int i = 0; i < streams; i++) {
        unsigned long long v = 0;
        for (int k = 0; k < 8; k++) v = v << 8 | ans[i][k];
        total += v;
        close(fds[i]);
    }
    printf("BULK bytes=%llu nanos=%lld sent=%llu\n", total, last - start, sent);
    return 0;
}

/* ---- respond ------------------------------------------------------------------------------------------------- */

static const char KEEP[] = "HTTP/1.1 200 OK\r\ncontent-length: 32\r\ncontent-type: text/plain\r\n\r\n"
                           "0123456789abcdef0123456789abcdef";
static const char CLOSE[] = "HTTP/1.1 200 OK\r\ncontent-length: 32\r\ncontent-type: text/plain\r\n"
                            "connection: close\r\n\r\n0123456789abcdef0123456789abcdef";

struct conn {
    unsigned short len;
    char buf[REQ_MAX];
};

static int asks_close(const char *req, size_t len) {
    static const char h[] = "\r\nconnection: close";
    for (size_t i = 0; i + sizeof h - 1 <= len; i++) {
        if (strncasecmp(req + i, h, sizeof h - 1) == 0) return 1;
    }
    return 0;
}

/* Reads what the client sent; answers each whole request. Returns 0 when the connection is done. */
static int respond_read(int fd, struct conn *c) {
    for (;;) {
        ssize_t r = recv(fd, c->buf + c->len, REQ_MAX - 1 - c->len, MSG_DONTWAIT);
        if (r == 0) return 0;
        if (r < 0) return errno == EAGAIN || errno == EINTR;
        c->len += (unsigned short) r;
        c->buf[c->len] = 0;
        char *end;
        while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) != NULL) {
            size_t req = (size_t) (end - c->buf) + 4;
            int close_after = asks_close(c->buf, req);
            const char *out = close_after ? CLOSE : KEEP;
            size_t len = close_after ? sizeof CLOSE - 1 : sizeof KEEP - 1;
            /* small answers into an empty send buffer: written whole at once, as a real server's first write */
            if (send(fd, out, len, MSG_NOSIGNAL) != (ssize_t) len) return 0;
            if (close_after) return 0;
            memmove(c->buf, c->buf + req, c->len - req);
            c->len -= (unsigned short) req;
        }
        if (c->len >= REQ_MAX - 1) return 0; /* a request larger than any wrk sends */
    }
}

static struct conn **conns; /* per descriptor, kept for the next connection on it */

static void respond_accept(int ep, int c) {
    if (!conns[c] && !(conns[c] = malloc(sizeof **conns))) die("malloc");
    conns[c]->len = 0;
    add(ep, c, EPOLLIN);
}

static void respond_on_read(int fd) {
    if (!respond_read(fd, conns[fd])) close(fd);
}

/* One responder process: listens on every port, then writes a byte to `ready` (its parent counts them). */
static _Noreturn void respond_worker(int nports, char **ports, int ready) {
    conns = calloc(MAX_FDS, sizeof *conns);
    if (!conns) die("respond set-up");
    int ep = listen_all(nports, ports, 1);
    if (write(ready, "R", 1) != 1) die("write");
    close(ready);
    serve(ep, respond_accept, respond_on_read);
}

static void stop_workers(pid_t *kids, int procs) {
    for (int k = 0; k < procs; k++) if (kids[k] > 0) kill(kids[k], SIGTERM);
    for (int k = 0; k < procs; k++) if (kids[k] > 0) waitpid(kids[k], NULL, 0);
}

static int respond(int procs, int nports, char **ports) {
    for (int i = 0; i < nports; i++) port_arg(ports[i]);
    pid_t *kids = calloc((size_t) procs, sizeof *kids);
    int ready[2];
    if (!kids || pipe2(ready, O_CLOEXEC) < 0) die("respond set-up");
    /* blocked before the forks, so that a worker's end or a stop request is never lost; unblocked in the workers */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    pid_t self = getpid();
    for (int i = 0; i < procs; i++) {
        kids[i] = fork();
        if (kids[i] < 0) {
            stop_workers(kids, i);
            die("fork");
        }
        if (kids[i] == 0) {
            sigprocmask(SIG_UNBLOCK, &set, NULL);
            prctl(PR_SET_PDEATHSIG, SIGTERM); /* a worker never outlives the process the harness stops */
            if (getppid() != self) _exit(0);
            close(ready[0]);
            respond_worker(nports, ports, ready[1]);
        }
    }
    close(ready[1]);
    /* READY once every worker listens on every port: a byte from each; end of file first means one of them died */
    char b;
    for (int i = 0; i < procs; i++) {
        if (read(ready[0], &b, 1) != 1) {
            fprintf(stderr, "planetary-load: a responder process ended before listening (see above)\n");
            stop_workers(kids, procs);
            return 2;
        }
    }
    close(ready[0]);
    printf("READY\n");
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    if (sig == SIGCHLD) {
        /* a worker's port would refuse the connections the kernel gives it: the run must not go on quietly */
        fprintf(stderr, "planetary-load: a responder process ended\n");
        stop_workers(kids, procs);
        return 3;
    }
    stop_workers(kids, procs);
    return 0;
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 3 && strcmp(argv[1], "sink") == 0) sink(argc - 2, argv + 2);
    if (argc == 5 && strcmp(argv[1], "bulk") == 0) {
        int streams = atoi(argv[3]), seconds = atoi(argv[4]);
        if (streams < 1 || streams > 1024 || seconds < 1 || seconds > 3600) {
            fprintf(stderr, "planetary-load: bulk PORT STREAMS(1-1024) SECONDS(1-3600)\n");
            return 2;
        }
        return bulk(port_arg(argv[2]), streams, seconds);
    }
    if (argc >= 4 && strcmp(argv[1], "respond") == 0) {
        int procs = atoi(argv[2]);
        if (procs < 1 || procs > 1024) {
            fprintf(stderr, "planetary-load: respond PROCS(1-1024) PORT...\n");
            return 2;
        }
        return respond(procs, argc - 3, argv + 3);
    }
    fprintf(stderr, "usage: planetary-load sink PORT... | bulk PORT STREAMS SECONDS | respond PROCS PORT...\n");
    return 2;
}
