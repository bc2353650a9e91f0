package dev.planetary.core.config;

import dev.planetary.core.ports.PortKind;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Reads Planetary's configuration: the TCP subset of HAProxy's own language, so one file can be checked with
 * {@code haproxy -c -f} and run by either program.
 *
 * <p>Sections: {@code global}, {@code defaults [NAME]}, {@code frontend NAME}, {@code backend NAME},
 * {@code listen NAME} (a frontend and a backend of that name; the frontend's default_backend is itself unless
 * the listen section names another), each optionally followed by {@code from DEFAULTS}; and Planetary's own
 * {@code genesis NAME} (a registry: one or more {@code url} lines) with {@code discover genesis NAME service SVC}
 * in backends and {@code pin-ports KIND} in frontends, which take servers and pinned ports from it. Keywords are accepted
 * in the same sections as HAProxy; where HAProxy only warns that a keyword is ignored (a {@code bind} in a
 * backend, a {@code balance} in a frontend), Planetary refuses it, because an ignored line is a line that does
 * not do what its author thinks. A {@code defaults} section applies to the sections after it, and a later one
 * replaces it entirely, as in HAProxy. As in HAProxy 2.6, each file starts outside any section: a section does
 * not continue into the next {@code -f} file, but the last {@code defaults} does.
 *
 * <p>All errors of all files are collected (the first {@link #MAX_ERRORS}, then their number), never thrown; each
 * reads {@code parsing [FILE:LINE] : ...}, with the file's control characters escaped (see {@link Printable}).
 * Where real HAProxy has a keyword that Planetary does not implement, the message says so rather than calling
 * it unknown.
 */
public final class ConfigParser {

    /** HAProxy's default {@code balance}: every server in turn, by weight. */
    public static final BalanceAlgorithm DEFAULT_BALANCE = BalanceAlgorithm.ROUNDROBIN;
    /** HAProxy's default {@code hash-type}: modulo the total weight, cheapest when servers rarely change. */
    public static final HashType DEFAULT_HASH_TYPE = HashType.MAP_BASED;
    /** Upper bound of {@code nbthread}: far above any core count, low enough to catch a typo. */
    public static final int MAX_NBTHREAD = 4096;
    /** HAProxy's largest server weight. */
    public static final int MAX_WEIGHT = 256;
    /**
     * Largest configuration file read, in bytes. A config that lists every VM of a full swarm server by server is a
     * few hundred KB; 4 MiB leaves room for generated configs ten times that, while the worst file of that size still
     * parses inside the launcher's 256 MB heap (287,027 one-line {@code listen} sections: measured to pass at -Xmx192m;
     * 8 MiB of them ran out of memory at -Xmx256m). A bigger file is not a config (/dev/zero, a log, an image).
     */
    public static final int MAX_FILE_BYTES = 4 * 1024 * 1024;
    /**
     * Errors kept and reported; past it only their number. A thousand is more than anyone fixes in one go, and a file
     * of garbage (millions of bad lines) must not turn into gigabytes of messages.
     */
    public static final int MAX_ERRORS = 1_000;

    private static final String TIME = "a time";
    private static final String MISSING_TIMEOUTS = ". While not properly invalid, you will certainly encounter"
            + " various problems with such a configuration. To fix this, please ensure that all following timeouts"
            + " are set to a non-zero value: 'client', 'connect', 'server'.";

    /** A section keyword and the capabilities HAProxy gives it: accepting connections, choosing servers. */
    private enum Kind {
        GLOBAL("global", false, false),
        DEFAULTS("defaults", true, true),
        FRONTEND("frontend", true, false),
        BACKEND("backend", false, true),
        LISTEN("listen", true, true),
        GENESIS("genesis", false, false),
        SKIPPED("", false, false);

        final String keyword;
        final boolean frontend;
        final boolean backend;

        Kind(String keyword, boolean frontend, boolean backend) {
            this.keyword = keyword;
            this.frontend = frontend;
            this.backend = backend;
        }
    }

    /** Values a defaults section passes on; every proxy section starts from a copy of the current one. */
    private static final class Settings {
        BalanceAlgorithm balance = DEFAULT_BALANCE;
        HashType hashType = DEFAULT_HASH_TYPE;
        long connectMs;
        long clientMs;
        long serverMs;
        long queueMs;
        long clientFinMs;
        long serverFinMs;
        long tunnelMs;
        int retries = BackendConfig.DEFAULT_RETRIES;
        boolean redispatch;
        int maxconn;
        String defaultBackend;
        Origin defaultBackendOrigin;
        ServerSettings server = new ServerSettings();
        /** Connection log: own {@code log} lines, {@code log global}, {@code option tcplog}. */
        List<LogTarget> logs = List.of(); // shared by copies: replaced, never changed in place
        boolean logGlobal;
        boolean tcplog;

        Settings copy() {
            Settings c = new Settings();
            c.balance = balance;
            c.hashType = hashType;
            c.connectMs = connectMs;
            c.clientMs = clientMs;
            c.serverMs = serverMs;
            c.queueMs = queueMs;
            c.clientFinMs = clientFinMs;
            c.serverFinMs = serverFinMs;
            c.tunnelMs = tunnelMs;
            c.retries = retries;
            c.redispatch = redispatch;
            c.maxconn = maxconn;
            c.defaultBackend = defaultBackend;
            c.defaultBackendOrigin = defaultBackendOrigin;
            c.server = server.copy();
            c.logs = logs;
            c.logGlobal = logGlobal;
            c.tcplog = tcplog;
            return c;
        }
    }

    /** {@code default-server} values, then one server line's own options on top of a copy. */
    private static final class ServerSettings {
        boolean check;
        long interMs = ServerConfig.DEFAULT_INTER_MS;
        int rise = ServerConfig.DEFAULT_RISE;
        int fall = ServerConfig.DEFAULT_FALL;
        int weight = ServerConfig.DEFAULT_WEIGHT;
        int maxconn;
        boolean backup;
        boolean disabled;
        /** {@code send-proxy} and {@code send-proxy-v2} are separate flags in HAProxy; with both, v2 is sent. */
        boolean sendProxyV1;
        boolean sendProxyV2;
        boolean checkSendProxy;

        SendProxy sendProxy() {
            return sendProxyV2 ? SendProxy.V2 : sendProxyV1 ? SendProxy.V1 : SendProxy.NONE;
        }

        ServerOptions options() {
            return new ServerOptions(check, interMs, rise, fall, weight, maxconn, backup, disabled, sendProxy(),
                checkSendProxy);
        }

        ServerSettings copy() {
            ServerSettings c = new ServerSettings();
            c.check = check;
            c.interMs = interMs;
            c.rise = rise;
            c.fall = fall;
            c.weight = weight;
            c.maxconn = maxconn;
            c.backup = backup;
            c.disabled = disabled;
            c.sendProxyV1 = sendProxyV1;
            c.sendProxyV2 = sendProxyV2;
            c.checkSendProxy = checkSendProxy;
            return c;
        }
    }

    private static final class Section {
        final Kind kind;
        final String name;
        final Origin origin;
        final Settings settings;
        // The collections below are made on first use: a file of one-line sections under the size limit holds
        // ~290,000 sections, and empty collections made up of most of their memory while the file was read (the
        // heaviest such file ran out of a 256 MiB heap: BadConfigInputIT). Each is this section's own (append).
        List<Bind> binds = List.of();
        List<ServerConfig> servers = List.of();
        Map<String, Integer> serverLines;
        /** default_backend written in this section itself (a listen ignores one inherited from defaults). */
        String ownDefaultBackend;
        /** The header line had an error (no name, a name taken): checks of the whole section are skipped. */
        boolean broken;
        /** First words of lines that had an error, so later checks do not repeat them in other words. */
        Set<String> failedKeywords = Set.of();
        /** {@code discover genesis ...} (backends), {@code pin-ports} (frontends), {@code url} lines (genesis). */
        DiscoverConfig discover;
        PinPorts pinPorts;
        List<java.net.URI> urls = List.of();
        Map<String, Integer> urlLines;
        /** {@code mode http}: allowed only for a stats page ({@link StatsPageKeywords}). */
        Origin httpMode;
        private StatsPageKeywords.Page stats;

        /** The stats page's settings (made on first use). */
        StatsPageKeywords.Page page() {
            if (stats == null) {
                stats = new StatsPageKeywords.Page();
            }
            return stats;
        }

        boolean statsUsed() {
            return stats != null && stats.used();
        }

        void failed(String keyword) {
            if (failedKeywords.isEmpty()) {
                failedKeywords = new HashSet<>();
            }
            failedKeywords.add(keyword);
        }

        /** A stats page section: neither a frontend nor a backend of the TCP proxy. */
        boolean statsPage() {
            return httpMode != null;
        }

        Section(Kind kind, String name, Origin origin, Settings settings) {
            this.kind = kind;
            this.name = name;
            this.origin = origin;
            this.settings = settings;
        }
    }

    private final Function<String, String> env;
    private final List<String> errors = new ArrayList<>();
    private final List<String> warnings = new ArrayList<>();
    private long errorsNotShown;
    private int globalMaxconn;
    private int globalNbthread;
    private long globalHardStopAfterMs;
    private int globalLoopPriority;
    private final List<LogTarget> globalLogs = new ArrayList<>();
    /** {@code stats socket} and {@code stats timeout} (the runtime API), in a class of their own. */
    private final StatsSocketKeywords statsSocketKeywords = new StatsSocketKeywords();
    private Settings defaults = new Settings();
    private final Map<String, Settings> namedDefaults = new HashMap<>();
    private final List<Section> proxies = new ArrayList<>();
    private final Map<String, Section> frontendNames = new HashMap<>();
    private final Map<String, Section> backendNames = new HashMap<>();
    private final List<Section> registries = new ArrayList<>();
    private final Map<String, Section> registryNames = new HashMap<>();
    private Section current;

    private ConfigParser(Function<String, String> env) {
        this.env = env;
    }

    /** Reads the files in order, as {@code haproxy -f a -f b}; environment variables come from the process. */
    public static ConfigResult parse(List<Path> files) {
        return parse(files, System::getenv);
    }

    /**
     * Reads the files in order; a directory stands for its {@code *.cfg} files in name order, as in HAProxy.
     *
     * @param env looks up environment variables for {@code "$VAR"}; returns null when unset
     */
    public static ConfigResult parse(List<Path> files, Function<String, String> env) {
        ConfigParser p = new ConfigParser(env);
        for (Path file : files) {
            p.readPath(file);
        }
        return p.finish();
    }

    /** Parses one file's text, named {@code fileName} in messages; environment variables come from the process. */
    public static ConfigResult parse(String fileName, String text) {
        return parse(fileName, text, System::getenv);
    }

    /** Parses one file's text with the given environment lookup (null for an unset variable). */
    public static ConfigResult parse(String fileName, String text, Function<String, String> env) {
        ConfigParser p = new ConfigParser(env);
        p.readText(fileName, text);
        return p.finish();
    }

    // ---------------------------------------------------------------------------------------------- reading

    private void readPath(Path path) {
        String name = path.toString();
        try {
            // Attributes first, without opening: opening a FIFO blocks until a writer comes, and a device never ends.
            BasicFileAttributes attrs = Files.readAttributes(path, BasicFileAttributes.class);
            if (attrs.isDirectory()) {
                List<Path> cfgs = new ArrayList<>();
                try (DirectoryStream<Path> dir = Files.newDirectoryStream(path, "*.cfg")) {
                    for (Path p : dir) {
                        if (!p.getFileName().toString().startsWith(".") && Files.isRegularFile(p)) {
                            cfgs.add(p);
                        }
                    }
                }
                cfgs.sort(null);
                for (Path p : cfgs) {
                    readPath(p);
                }
                return;
            }
            if (!attrs.isRegularFile()) {
                refused(name, "it is " + fileType(path) + ", not a regular file");
                return;
            }
            if (attrs.size() > MAX_FILE_BYTES) {
                refused(name, "it has " + String.format(Locale.ROOT, "%,d", attrs.size()) + " bytes, " + TOO_BIG);
                return;
            }
            byte[] bytes;
            try (InputStream in = Files.newInputStream(path)) {
                bytes = in.readNBytes(MAX_FILE_BYTES + 1); // bounded again: a file may grow, /proc files claim 0 bytes
            }
            if (bytes.length > MAX_FILE_BYTES) {
                refused(name, "it has " + TOO_BIG);
                return;
            }
            readText(name, new String(bytes, StandardCharsets.UTF_8));
        } catch (NoSuchFileException e) {
            unreadable(name, "No such file or directory");
        } catch (AccessDeniedException e) {
            unreadable(name, "Permission denied");
        } catch (IOException | SecurityException e) {
            unreadable(name, e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()));
        }
    }

    private static final String TOO_BIG = "more than the " + String.format(Locale.ROOT, "%,d", MAX_FILE_BYTES)
            + " (" + MAX_FILE_BYTES / (1024 * 1024) + " MiB) a configuration file may have";

    private void unreadable(String name, String why) {
        addError("parsing [" + name + ":0] : could not open configuration file '" + name + "' : " + why);
    }

    private void refused(String name, String why) {
        addError("parsing [" + name + ":0] : configuration file '" + name + "' refused: " + why);
    }

    /** What a file that is not a regular one is, from its mode bits (S_IFMT); "a special file" where unknown. */
    private static String fileType(Path path) {
        try {
            int mode = (Integer) Files.getAttribute(path, "unix:mode");
            return switch (mode & 0170000) {
                case 0020000 -> "a character device";
                case 0060000 -> "a block device";
                case 0010000 -> "a FIFO";
                case 0140000 -> "a socket";
                default -> "a special file";
            };
        } catch (IOException | RuntimeException e) {
            return "a special file";
        }
    }

    /** Every error goes through here: made printable (it may echo the file), and counted past {@link #MAX_ERRORS}. */
    private void addError(String message) {
        if (errors.size() < MAX_ERRORS) {
            errors.add(Printable.of(message));
        } else {
            errorsNotShown++;
        }
    }

    private void readText(String fileName, String text) {
        current = null;
        int lineNo = 0;
        int start = 0;
        int n = text.length();
        while (start <= n) {
            int end = text.indexOf('\n', start);
            if (end < 0) {
                end = n;
            }
            lineNo++;
            line(new Origin(fileName, lineNo), text.substring(start, end));
            start = end + 1;
        }
    }

    private void line(Origin at, String raw) {
        LineTokenizer.Tokens tokens = LineTokenizer.tokenize(raw, env, at.file(), at.line(),
                current == null ? "" : current.kind.keyword);
        if (tokens.error() != null) {
            error(at, tokens.error());
            return;
        }
        List<String> words = tokens.words();
        if (words.isEmpty()) {
            return;
        }
        try {
            keyword(words, at);
        } catch (LineError e) {
            error(at, e.getMessage());
            if (current != null) {
                current.failed(words.get(0));
            }
        }
    }

    /** Adds to a section's own list, made on the first item (an empty list may be the shared List.of()). */
    private static <T> List<T> append(List<T> list, T item) {
        List<T> l = list.isEmpty() ? new ArrayList<>(2) : list;
        l.add(item);
        return l;
    }

    /** A copy with one more item, for a list that copies of Settings may share. */
    private static <T> List<T> plus(List<T> list, T item) {
        List<T> l = new ArrayList<>(list.size() + 1);
        l.addAll(list);
        l.add(item);
        return l;
    }

    private void error(Origin at, String message) {
        addError("parsing " + at + " : " + message);
    }

    private void warning(Origin at, String message) {
        if (warnings.size() < MAX_ERRORS) {
            warnings.add(Printable.of("parsing " + at + " : " + message));
        }
    }

    // ---------------------------------------------------------------------------------------------- sections

    private void keyword(List<String> w, Origin at) {
        String kw = w.get(0);
        switch (kw) {
            case "global" -> {
                current = new Section(Kind.GLOBAL, null, at, null);
                noMoreInHeader(w, 1);
                return;
            }
            case "defaults" -> {
                startDefaults(w, at);
                return;
            }
            case "frontend" -> {
                startProxy(Kind.FRONTEND, w, at);
                return;
            }
            case "backend" -> {
                startProxy(Kind.BACKEND, w, at);
                return;
            }
            case "listen" -> {
                startProxy(Kind.LISTEN, w, at);
                return;
            }
            case "genesis" -> {
                startGenesis(w, at);
                return;
            }
            default -> {
            }
        }
        if (HaproxyKeywords.SECTIONS.contains(kw)) {
            current = new Section(Kind.SKIPPED, null, at, null);
            throw new LineError("'" + kw + "' is a HAProxy section that Planetary does not support"
                    + " (its lines are skipped)");
        }
        if (HaproxyKeywords.DIRECTIVES.contains(kw)) {
            throw new LineError("'" + kw + "' is a HAProxy directive that Planetary does not support");
        }
        if (current == null) {
            throw new LineError("unknown keyword '" + kw + "' out of section");
        }
        switch (current.kind) {
            case SKIPPED -> {
            }
            case GLOBAL -> globalKeyword(w, at);
            case GENESIS -> genesisKeyword(w, at);
            default -> proxyKeyword(w, at);
        }
    }

    private void startDefaults(List<String> w, Origin at) {
        String name = w.size() > 1 && !w.get(1).equals("from") ? w.get(1) : null;
        int fromAt = name == null ? 1 : 2;
        boolean from = w.size() > fromAt && w.get(fromAt).equals("from");
        Settings base = new Settings();
        LineError fromError = null;
        if (from) {
            try {
                base = namedDefaults(w, fromAt, "defaults").copy();
            } catch (LineError e) {
                fromError = e;
            }
        }
        // A new defaults section replaces the previous one at once, even if this line has an error.
        defaults = base;
        current = new Section(Kind.DEFAULTS, name, at, defaults);
        if (name != null) {
            checkName(name, "defaults");
            namedDefaults.put(name, defaults);
        }
        if (fromError != null) {
            throw fromError;
        }
        noMoreInHeader(w, from ? fromAt + 2 : fromAt);
    }

    private void startProxy(Kind kind, List<String> w, Origin at) {
        String kw = kind.keyword;
        Settings settings = defaults;
        LineError fromError = null;
        boolean from = w.size() > 2 && w.get(2).equals("from");
        if (from) {
            try {
                settings = namedDefaults(w, 2, kw);
            } catch (LineError e) {
                fromError = e;
            }
        }
        // Start the section before any error so its lines are checked as part of it, not as "out of section".
        String name = w.size() > 1 ? w.get(1) : "";
        current = new Section(kind, name, at, settings.copy());
        current.broken = true;
        proxies.add(current);
        if (w.size() < 2) {
            throw new LineError("'" + kw + "' expects <name> as an argument");
        }
        checkName(name, kw);
        Section clash = kind.frontend ? frontendNames.get(name) : null;
        if (clash == null && kind.backend) {
            clash = backendNames.get(name);
        }
        if (kind.frontend) {
            frontendNames.putIfAbsent(name, current);
        }
        if (kind.backend) {
            backendNames.putIfAbsent(name, current);
        }
        if (clash != null) {
            throw new LineError(kw + " '" + name + "' has the same name as " + clash.kind.keyword + " '" + name
                    + "' declared at " + clash.origin.file() + ":" + clash.origin.line());
        }
        if (fromError != null) {
            throw fromError;
        }
        noMoreInHeader(w, from ? 4 : 2);
        current.broken = false;
    }

    /** {@code genesis NAME}: a registry section of its own name space (it may share a name with a backend). */
    private void startGenesis(List<String> w, Origin at) {
        String name = w.size() > 1 ? w.get(1) : "";
        current = new Section(Kind.GENESIS, name, at, null);
        current.broken = true;
        registries.add(current);
        if (w.size() < 2) {
            throw new LineError("'genesis' expects <name> as an argument");
        }
        checkName(name, "genesis");
        Section clash = registryNames.putIfAbsent(name, current);
        if (clash != null) {
            throw new LineError("genesis '" + name + "' has the same name as genesis '" + name + "' declared at "
                + clash.origin.file() + ":" + clash.origin.line());
        }
        noMoreInHeader(w, 2);
        current.broken = false;
    }

    private void genesisKeyword(List<String> w, Origin at) {
        String kw = w.get(0);
        if (!kw.equals("url")) {
            throw unknown(kw);
        }
        String text = arg(w, 1, kw, "a base URL such as http://127.0.0.1:9000");
        java.net.URI url = genesisUrl(text);
        noMore(w, 2, kw);
        String key = url.toString();
        if (current.urlLines == null) {
            current.urlLines = new HashMap<>();
        }
        Integer previous = current.urlLines.putIfAbsent(key, at.line());
        if (previous != null) {
            throw new LineError("genesis '" + current.name + "' : url '" + text + "' was already given at line "
                + previous);
        }
        current.urls = append(current.urls, url);
    }

    /**
     * An {@code http://} or {@code https://} base URL with a host, an optional port and no path, query, fragment or
     * user info: the client appends {@code /api/...} to it, and a token in a URL would end up in logs.
     */
    private static java.net.URI genesisUrl(String text) {
        String bad = "'url' in 'genesis' section expects a base URL such as http://127.0.0.1:9000, got '" + text + "'";
        java.net.URI u;
        try {
            u = new java.net.URI(text);
        } catch (java.net.URISyntaxException e) {
            throw new LineError(bad + ": " + e.getReason());
        }
        String scheme = u.getScheme();
        if (scheme == null || !(scheme.equals("http") || scheme.equals("https"))) {
            throw new LineError(bad + ": the scheme must be http or https");
        }
        if (u.getHost() == null || u.getRawAuthority() == null) {
            throw new LineError(bad + ": no host");
        }
        if (u.getRawUserInfo() != null) {
            throw new LineError(bad + ": no user info in the URL (Genesis' reads need no credentials)");
        }
        String path = u.getRawPath();
        if (path != null && !path.isEmpty() && !path.equals("/") || u.getRawQuery() != null
            || u.getRawFragment() != null) {
            throw new LineError(bad + ": give the base URL only, without a path, query or fragment");
        }
        if (u.getPort() == 0 || u.getPort() > 65535) {
            throw new LineError(bad + ": the port must be 1..65535");
        }
        return java.net.URI.create(scheme + "://" + u.getRawAuthority());
    }

    private Settings namedDefaults(List<String> w, int fromIndex, String kw) {
        if (w.size() <= fromIndex + 1) {
            throw new LineError("'" + kw + "' : 'from' expects the name of a defaults section");
        }
        Settings named = namedDefaults.get(w.get(fromIndex + 1));
        if (named == null) {
            throw new LineError("'" + kw + "' : no defaults section named '" + w.get(fromIndex + 1)
                    + "' before this line");
        }
        return named;
    }

    /** HAProxy's invalid_char(): names are letters, digits, '.', '-', '_' and ':'. */
    private static void checkName(String name, String what) {
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            boolean ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
                    || c == '.' || c == '-' || c == '_' || c == ':';
            if (!ok) {
                throw new LineError("character '" + c + "' is not permitted in '" + what + "' name '" + name + "'");
            }
        }
        if (name.isEmpty()) {
            throw new LineError("'" + what + "' name must not be empty");
        }
    }

    // ---------------------------------------------------------------------------------------------- global

    private void globalKeyword(List<String> w, Origin at) {
        String kw = w.get(0);
        switch (kw) {
            case "log" -> {
                if (w.size() > 1 && w.get(1).equals("global")) {
                    throw new LineError("'log global' is only for defaults, frontend and listen sections");
                }
                globalLogs.add(LogKeywords.target(w, at));
            }
            case "maxconn" -> {
                globalMaxconn = intArg(w, 1, kw, 1, Integer.MAX_VALUE, "a positive integer");
                noMore(w, 2, kw);
            }
            case "nbthread" -> {
                globalNbthread = intArg(w, 1, kw, 1, MAX_NBTHREAD, "an integer between 1 and " + MAX_NBTHREAD);
                noMore(w, 2, kw);
            }
            case "hard-stop-after" -> {
                globalHardStopAfterMs = timeArg(w, 1, kw);
                noMore(w, 2, kw);
            }
            case "loop-priority" -> globalLoopPriority = loopPriority(w);
            default -> {
                if (statsSocketKeywords.parse(w, at)) {
                    return;
                }
                if (HaproxyKeywords.isGlobal(kw)) {
                    throw unsupported(kw, "keyword");
                }
                throw unknown(kw);
            }
        }
    }

    /**
     * Ours: {@code loop-priority normal | realtime [PRIO]}, the event loops' scheduling (PRIO 1-99, default 1). Real
     * time lets a loop preempt any other thread of the machine at once (the JIT, a relist, Genesis): on a small box
     * a woken loop otherwise waits for the time-sharing scheduler's slice.
     */
    private int loopPriority(List<String> w) {
        String kw = w.get(0);
        String how = arg(w, 1, kw, "'normal' or 'realtime [1-" + GlobalConfig.MAX_LOOP_PRIORITY + "]'");
        switch (how) {
            case "normal" -> {
                noMore(w, 2, kw + " normal");
                return 0;
            }
            case "realtime" -> {
                int prio = w.size() > 2 ? intArg(w, 2, kw + " realtime", 1, GlobalConfig.MAX_LOOP_PRIORITY,
                    "an integer between 1 and " + GlobalConfig.MAX_LOOP_PRIORITY) : 1;
                noMore(w, 3, kw + " realtime");
                return prio;
            }
            default -> throw expects(kw, "'normal' or 'realtime [1-" + GlobalConfig.MAX_LOOP_PRIORITY + "]'", how);
        }
    }

    // ---------------------------------------------------------------------------------------------- proxies

    private void proxyKeyword(List<String> w, Origin at) {
        String kw = w.get(0);
        Settings s = current.settings;
        switch (kw) {
            case "mode" -> mode(w, at);
            case "bind" -> bind(w, at);
            case "default_backend" -> {
                needFrontend(kw);
                String backend = arg(w, 1, kw, "<backend name>");
                s.defaultBackend = backend;
                s.defaultBackendOrigin = at;
                current.ownDefaultBackend = backend;
                noMore(w, 2, kw);
            }
            case "maxconn" -> {
                needFrontend(kw);
                s.maxconn = intArg(w, 1, kw, 1, Integer.MAX_VALUE, "a positive integer");
                noMore(w, 2, kw);
            }
            case "balance" -> balance(w);
            case "hash-type" -> hashType(w);
            case "timeout" -> timeout(w);
            case "retries" -> {
                needBackend(kw);
                s.retries = intArg(w, 1, kw, 0, Integer.MAX_VALUE, "a non-negative integer");
                noMore(w, 2, kw);
            }
            case "option" -> option(w, 0, true);
            case "no" -> {
                if (w.size() > 1 && w.get(1).equals("option")) {
                    option(w, 1, false);
                } else if (w.size() > 1 && w.get(1).equals("log")) {
                    needFrontend("no log");
                    noMore(w, 2, "no log");
                    s.logs = List.of();
                    s.logGlobal = false;
                } else {
                    throw unknown(w.size() > 1 ? "no " + w.get(1) : "no");
                }
            }
            case "default-server" -> {
                needBackend(kw);
                serverOptions(w, 1, s.server, "'default-server'");
            }
            case "server" -> server(w, at);
            case "discover" -> discover(w, at);
            case "pin-ports" -> pinPorts(w, at);
            case "log" -> {
                needFrontend(kw);
                if (w.size() > 1 && w.get(1).equals("global")) {
                    noMore(w, 2, "log global");
                    s.logGlobal = true;
                } else {
                    s.logs = plus(s.logs, LogKeywords.target(w, at));
                }
            }
            case "stats" -> {
                statsSection(kw);
                StatsPageKeywords.stats(w, current.page(), at);
            }
            case "http-request" -> {
                statsSection(kw);
                StatsPageKeywords.httpRequest(w, current.page(), at);
            }
            default -> {
                if (HaproxyKeywords.PROXY.contains(kw)) {
                    throw unsupported(kw, "keyword");
                }
                throw unknown(kw);
            }
        }
    }

    /** Stats lines belong to the section that is the page: a listen or frontend, never defaults. */
    private void statsSection(String kw) {
        if (current.kind == Kind.DEFAULTS) {
            throw new LineError("'" + kw + "' not allowed in 'defaults' section: write it in the stats page's own"
                + " 'listen' section");
        }
        needFrontend(kw);
    }

    private void mode(List<String> w, Origin at) {
        String mode = arg(w, 1, "mode", "'tcp'");
        if (mode.equals("http") && current.kind.frontend && current.kind != Kind.DEFAULTS) {
            // a stats page; that the section really is one is checked once all of it is read
            noMore(w, 2, "mode");
            if (current.httpMode == null) {
                current.httpMode = at;
            }
            return;
        }
        if (mode.equals("http")) {
            throw new LineError("'mode http' is only supported in a stats page section ('listen' with 'stats"
                + " enable'): Planetary is a TCP (layer 4) proxy");
        }
        if (mode.equals("health")) {
            throw new LineError("'mode " + mode + "' is not supported: Planetary is a TCP (layer 4) proxy");
        }
        if (!mode.equals("tcp")) {
            throw expects("mode", "'tcp'", mode);
        }
        noMore(w, 2, "mode");
    }

    private void bind(List<String> w, Origin at) {
        needFrontend("bind");
        String list = arg(w, 1, "bind", "<address>:<port>[-<last port>][,...] as arguments");
        List<Bind> binds = new ArrayList<>();
        for (String element : list.split(",", -1)) {
            if (element.isEmpty()) {
                throw new LineError("'bind' : empty address in '" + list + "'");
            }
            binds.add(Addresses.parseBind(element, current.kind.keyword, at));
        }
        boolean acceptProxy = false;
        for (int i = 2; i < w.size(); i++) {
            String option = w.get(i);
            if (option.equals("accept-proxy")) {
                acceptProxy = true;
                continue;
            }
            if (HaproxyKeywords.BIND_OPTIONS.contains(option)) {
                throw unsupported(option, "bind option");
            }
            throw new LineError("'bind " + list + "' : unknown option '" + option + "'");
        }
        for (Bind b : binds) {
            current.binds = append(current.binds, acceptProxy ? b.withAcceptProxy() : b);
        }
    }

    private void balance(List<String> w) {
        needBackend("balance");
        String what = "'roundrobin', 'leastconn' or 'source'";
        String algorithm = arg(w, 1, "balance", what);
        BalanceAlgorithm chosen = switch (algorithm) {
            case "roundrobin" -> BalanceAlgorithm.ROUNDROBIN;
            case "leastconn" -> BalanceAlgorithm.LEASTCONN;
            case "source" -> BalanceAlgorithm.SOURCE;
            default -> null;
        };
        if (chosen == null) {
            if (HaproxyKeywords.isBalance(algorithm)) {
                throw new LineError("'balance " + algorithm + "' is a HAProxy algorithm that Planetary does not"
                        + " support (in '" + current.kind.keyword + "' section); use roundrobin, leastconn or source");
            }
            throw expects("balance", what, algorithm);
        }
        noMore(w, 2, "balance");
        current.settings.balance = chosen;
    }

    private void hashType(List<String> w) {
        needBackend("hash-type");
        String what = "'map-based' or 'consistent'";
        String type = arg(w, 1, "hash-type", what);
        HashType chosen = switch (type) {
            case "map-based" -> HashType.MAP_BASED;
            case "consistent" -> HashType.CONSISTENT;
            default -> throw expects("hash-type", what, type);
        };
        if (w.size() > 2 && HaproxyKeywords.HASH_FUNCTIONS.contains(w.get(2))) {
            throw unsupported(w.get(2), "hash function");
        }
        noMore(w, 2, "hash-type");
        current.settings.hashType = chosen;
    }

    private void timeout(List<String> w) {
        String kinds = "'connect', 'client', 'server', 'queue', 'client-fin', 'server-fin' and 'tunnel'";
        String kind = arg(w, 1, "timeout", "one of " + kinds + ", then a time");
        String kw = "timeout " + kind;
        switch (kind) {
            case "connect", "server", "queue", "server-fin", "tunnel" -> needBackend(kw);
            case "client", "client-fin" -> needFrontend(kw);
            default -> {
                if (HaproxyKeywords.TIMEOUTS.contains(kind)) {
                    throw unsupported(kw, "keyword");
                }
                throw new LineError("'timeout' in '" + current.kind.keyword + "' section supports " + kinds
                        + ", got '" + kind + "'");
            }
        }
        long ms = timeArg(w, 2, kw);
        noMore(w, 3, kw);
        Settings s = current.settings;
        switch (kind) {
            case "connect" -> s.connectMs = ms;
            case "server" -> s.serverMs = ms;
            case "queue" -> s.queueMs = ms;
            case "server-fin" -> s.serverFinMs = ms;
            case "tunnel" -> s.tunnelMs = ms;
            case "client" -> s.clientMs = ms;
            default -> s.clientFinMs = ms;
        }
    }

    /** {@code option NAME} at {@code w[at]}, or {@code no option NAME} when {@code at} is 1. */
    private void option(List<String> w, int at, boolean enable) {
        String prefix = enable ? "option" : "no option";
        String name = arg(w, at + 1, prefix, "an option name");
        String kw = prefix + " " + name;
        if (name.equals("redispatch")) {
            needBackend(kw);
            noMore(w, at + 2, kw);
            current.settings.redispatch = enable;
        } else if (name.equals("tcplog")) {
            needFrontend(kw);
            noMore(w, at + 2, kw);
            current.settings.tcplog = enable;
        } else if (HaproxyKeywords.OPTIONS.contains(name)) {
            throw unsupported(kw, "keyword");
        } else {
            throw unknown(kw);
        }
    }

    private void server(List<String> w, Origin at) {
        needBackend("server");
        if (w.size() < 3) {
            throw new LineError("'server' in '" + current.kind.keyword
                    + "' section expects <name> and <address>:<port> as arguments");
        }
        String name = w.get(1);
        checkName(name, "server");
        String subject = "'server " + current.name + "/" + name + "'";
        Addresses.HostPort address = Addresses.parseServer(w.get(2), subject, current.kind.keyword);
        ServerSettings o = current.settings.server.copy();
        serverOptions(w, 3, o, subject);
        if (current.serverLines == null) {
            current.serverLines = new HashMap<>();
        }
        Integer previous = current.serverLines.putIfAbsent(name, at.line());
        if (previous != null) {
            throw new LineError(current.kind.keyword + " '" + current.name + "', another server named '" + name
                    + "' was already defined at line " + previous + ", please use distinct names");
        }
        current.servers = append(current.servers, new ServerConfig(name, address.host(), address.port(), o.check,
                o.interMs, o.rise, o.fall, o.weight, o.maxconn, o.backup, o.disabled, o.sendProxy(), o.checkSendProxy,
                at));
    }

    /** {@code discover genesis NAME service SVC}; the genesis section is resolved at the end (it may come later). */
    private void discover(List<String> w, Origin at) {
        needBackend("discover");
        String usage = "'discover' in '" + current.kind.keyword + "' section expects 'genesis <name> service <service>'";
        if (w.size() < 5 || !w.get(1).equals("genesis") || !w.get(3).equals("service")) {
            throw new LineError(usage);
        }
        String registry = w.get(2);
        checkName(registry, "genesis");
        String service = w.get(4);
        if (!DiscoverConfig.SERVICE_NAME.matcher(service).matches()) {
            throw new LineError("'discover' : invalid service name '" + service + "': Genesis service names are"
                + " [a-z][a-z0-9_-]{0,31}");
        }
        noMore(w, 5, "discover");
        if (current.discover != null) {
            throw new LineError(current.kind.keyword + " '" + current.name + "' already discovers its servers"
                + " (line " + current.discover.origin().line() + "): one 'discover' line per backend");
        }
        current.discover = new DiscoverConfig(registry, service, current.settings.server.options(), at);
    }

    /** {@code pin-ports KIND}; that the frontend's backend discovers its servers is checked at the end. */
    private void pinPorts(List<String> w, Origin at) {
        needFrontend("pin-ports");
        String kinds = "'pcpu', 'pfsshfs' or 'transfer'";
        String name = arg(w, 1, "pin-ports", "a Genesis port kind: " + kinds);
        PortKind kind = PortKind.ofWire(name);
        if (kind == null) {
            throw expects("pin-ports", "a Genesis port kind: " + kinds, name);
        }
        noMore(w, 2, "pin-ports");
        if (current.pinPorts != null) {
            throw new LineError(current.kind.keyword + " '" + current.name + "' already pins its ports (line "
                + current.pinPorts.origin().line() + "): one 'pin-ports' line per frontend");
        }
        current.pinPorts = new PinPorts(kind, at);
    }

    private void serverOptions(List<String> w, int start, ServerSettings o, String subject) {
        for (int i = start; i < w.size(); i++) {
            String opt = w.get(i);
            switch (opt) {
                case "check" -> o.check = true;
                case "no-check" -> o.check = false;
                case "backup" -> o.backup = true;
                case "no-backup" -> o.backup = false;
                case "disabled" -> o.disabled = true;
                case "enabled" -> o.disabled = false;
                case "send-proxy" -> o.sendProxyV1 = true;
                case "send-proxy-v2" -> o.sendProxyV2 = true;
                case "no-send-proxy" -> o.sendProxyV1 = false;
                case "no-send-proxy-v2" -> o.sendProxyV2 = false;
                case "check-send-proxy" -> o.checkSendProxy = true;
                case "inter" -> {
                    String v = serverValue(w, ++i, subject, opt, "a positive time");
                    try {
                        o.interMs = Durations.parseMillis(v);
                    } catch (Durations.InvalidDurationException e) {
                        throw new LineError(subject + " : '" + opt + "' expects a positive time, got '" + v + "': "
                                + e.reason());
                    }
                    if (o.interMs == 0) {
                        throw new LineError(subject + " : '" + opt + "' expects a positive time, got '" + v + "'");
                    }
                }
                case "rise" -> o.rise = serverInt(w, ++i, subject, opt, 1, Integer.MAX_VALUE, "a positive integer");
                case "fall" -> o.fall = serverInt(w, ++i, subject, opt, 1, Integer.MAX_VALUE, "a positive integer");
                case "weight" -> o.weight = serverInt(w, ++i, subject, opt, 0, MAX_WEIGHT,
                        "an integer between 0 and " + MAX_WEIGHT);
                case "maxconn" -> o.maxconn = serverInt(w, ++i, subject, opt, 0, Integer.MAX_VALUE,
                        "a non-negative integer");
                default -> {
                    if (HaproxyKeywords.SERVER_OPTIONS.contains(opt)) {
                        throw unsupported(opt, "server option");
                    }
                    throw new LineError(subject + " : unknown option '" + opt + "'");
                }
            }
        }
    }

    private static String serverValue(List<String> w, int i, String subject, String opt, String what) {
        if (i >= w.size()) {
            throw new LineError(subject + " : '" + opt + "' expects " + what);
        }
        return w.get(i);
    }

    private static int serverInt(List<String> w, int i, String subject, String opt, int min, int max, String what) {
        String v = serverValue(w, i, subject, opt, what);
        Integer value = parseInt(v, min, max);
        if (value == null) {
            throw new LineError(subject + " : '" + opt + "' expects " + what + ", got '" + v + "'");
        }
        return value;
    }

    // ---------------------------------------------------------------------------------------------- checks

    /** Sections allowed to accept connections: frontend, listen, and defaults (which passes values on). */
    private void needFrontend(String kw) {
        need(kw, current.kind.frontend, "frontend");
    }

    private void needBackend(String kw) {
        need(kw, current.kind.backend, "backend");
    }

    private void need(String kw, boolean capable, String capability) {
        if (current.kind == Kind.DEFAULTS && (kw.equals("bind") || kw.equals("server") || kw.equals("discover")
            || kw.equals("pin-ports"))) {
            throw new LineError("'" + kw + "' not allowed in 'defaults' section");
        }
        if (!capable) {
            throw new LineError("'" + kw + "' not allowed because " + current.kind.keyword + " '" + current.name
                    + "' has no " + capability + " capability");
        }
    }

    private String arg(List<String> w, int i, String kw, String what) {
        if (i >= w.size() || w.get(i).isEmpty()) {
            throw new LineError("'" + kw + "' in '" + current.kind.keyword + "' section expects " + what);
        }
        return w.get(i);
    }

    private int intArg(List<String> w, int i, String kw, int min, int max, String what) {
        String v = arg(w, i, kw, what);
        Integer value = parseInt(v, min, max);
        if (value == null) {
            throw expects(kw, what, v);
        }
        return value;
    }

    private long timeArg(List<String> w, int i, String kw) {
        String v = arg(w, i, kw, TIME);
        try {
            return Durations.parseMillis(v);
        } catch (Durations.InvalidDurationException e) {
            throw new LineError("'" + kw + "' in '" + current.kind.keyword + "' section expects " + TIME + ", got '"
                    + v + "': " + e.reason());
        }
    }

    private void noMore(List<String> w, int n, String kw) {
        if (w.size() > n) {
            throw new LineError("'" + kw + "' in '" + current.kind.keyword
                    + "' section cannot handle unexpected argument '" + w.get(n) + "'");
        }
    }

    private static void noMoreInHeader(List<String> w, int n) {
        if (w.size() > n) {
            throw new LineError("'" + w.get(0) + "' cannot handle unexpected argument '" + w.get(n) + "'");
        }
    }

    private LineError expects(String kw, String what, String got) {
        return new LineError("'" + kw + "' in '" + current.kind.keyword + "' section expects " + what + ", got '"
                + got + "'");
    }

    private LineError unsupported(String what, String kind) {
        return new LineError("'" + what + "' is a HAProxy " + kind + " that Planetary does not support (in '"
                + current.kind.keyword + "' section)");
    }

    private LineError unknown(String kw) {
        return new LineError("unknown keyword '" + kw + "' in '" + current.kind.keyword + "' section");
    }

    /** Decimal digits only (no sign, no spaces) within [min, max], else null. */
    static Integer parseInt(String s, int min, int max) {
        if (s.isEmpty() || s.length() > 10) {
            return null;
        }
        long v = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return null;
            }
            v = v * 10 + (c - '0');
        }
        return v < min || v > max ? null : (int) v;
    }

    // ---------------------------------------------------------------------------------------------- result

    private ConfigResult finish() {
        List<FrontendConfig> frontends = new ArrayList<>();
        List<BackendConfig> backends = new ArrayList<>();
        List<Bind> binds = new ArrayList<>();
        List<String> bindOwners = new ArrayList<>();
        List<StatsPageConfig> statsPages = new ArrayList<>();
        List<FrontendLogConfig> logs = new ArrayList<>();
        for (Section p : proxies) {
            Settings s = p.settings;
            if (p.statsPage() || p.statsUsed()) {
                StatsPageConfig page = statsPage(p);
                if (page != null) {
                    statsPages.add(page);
                }
                for (Bind b : p.binds) {
                    binds.add(b);
                    bindOwners.add(p.kind.keyword + " '" + p.name + "'");
                }
                continue;
            }
            if (p.kind.backend) {
                backends.add(new BackendConfig(p.name, s.balance, s.hashType, s.connectMs, s.serverMs, s.queueMs,
                        s.serverFinMs, s.retries, s.redispatch, p.servers, p.discover, p.origin, s.tunnelMs));
            }
            if (p.kind.frontend) {
                String target = p.kind == Kind.LISTEN && p.ownDefaultBackend == null ? p.name : s.defaultBackend;
                frontends.add(new FrontendConfig(p.name, p.binds, target, s.maxconn, s.clientMs, s.clientFinMs,
                        p.pinPorts, p.origin));
                List<LogTarget> targets = new ArrayList<>(s.logGlobal ? globalLogs : List.of());
                targets.addAll(s.logs);
                if (!targets.isEmpty() || s.tcplog) {
                    logs.add(new FrontendLogConfig(p.name, targets, s.tcplog));
                }
                if (!targets.isEmpty() && !s.tcplog && !p.broken) {
                    warning(p.origin, p.kind.keyword + " '" + p.name + "' has 'log' targets but no 'option tcplog':"
                        + " Planetary logs connections only in the tcplog format, so nothing is logged");
                }
                for (Bind b : p.binds) {
                    binds.add(b);
                    bindOwners.add(p.kind.keyword + " '" + p.name + "'");
                }
            }
            // A section whose header failed, or a keyword whose line failed, was reported already: saying it
            // again in other words would only bury the first message.
            if (!p.broken) {
                checkSection(p);
            }
        }
        checkOverlaps(binds, bindOwners);
        List<GenesisConfig> registryConfigs = new ArrayList<>();
        Set<String> used = new HashSet<>();
        for (Section p : proxies) {
            if (p.discover != null) {
                used.add(p.discover.genesis());
            }
        }
        for (Section g : registries) {
            if (!g.broken && g.urls.isEmpty() && !g.failedKeywords.contains("url")) {
                error(g.origin, "genesis '" + g.name + "' has no 'url': give the registry's base URL, e.g."
                    + " 'url http://127.0.0.1:9000'");
            }
            if (!g.broken && !used.contains(g.name)) {
                warning(g.origin, "genesis '" + g.name + "' is not used by any 'discover' line: the proxy will not"
                    + " follow it");
            }
            registryConfigs.add(new GenesisConfig(g.name, g.urls, g.origin));
        }
        if (errorsNotShown > 0) {
            errors.add(String.format(Locale.ROOT, "%,d more errors not shown (the first %,d are above)",
                    errorsNotShown, MAX_ERRORS));
        }
        if (!errors.isEmpty()) {
            return new ConfigResult(null, errors, warnings);
        }
        GlobalConfig global = new GlobalConfig(globalMaxconn, globalNbthread, globalHardStopAfterMs,
            statsSocketKeywords.sockets(), statsSocketKeywords.timeoutMs(), globalLoopPriority);
        return new ConfigResult(new ProxyConfig(global, frontends, backends, registryConfigs, statsPages, logs),
            errors, warnings);
    }

    /**
     * A section with {@code mode http} or stats lines as a stats page, or null after reporting why it is not one:
     * it needs both, no servers nor backend of its own, a bind, and {@code stats auth} unless every bind is loopback.
     */
    private StatsPageConfig statsPage(Section p) {
        String what = p.kind.keyword + " '" + p.name + "'";
        StatsPageKeywords.Page page = p.page();
        if (p.broken) {
            return null;
        }
        if (p.httpMode == null) {
            error(page.first, what + " : 'stats' and 'http-request' need 'mode http' in the same section: a stats"
                + " page is an HTTP service (Planetary's TCP sections take neither)");
            return null;
        }
        if (!page.enabled) {
            if (p.failedKeywords.contains("stats")) {
                return null; // its stats line was reported: saying the page is not enabled would only bury it
            }
            error(p.httpMode, what + " : 'mode http' is only supported for a stats page: add 'stats enable' (and"
                + " 'stats uri /'), or use 'mode tcp'; Planetary is a TCP (layer 4) proxy");
            return null;
        }
        boolean ok = true;
        if (!p.servers.isEmpty() || p.discover != null || p.pinPorts != null || p.ownDefaultBackend != null) {
            error(p.origin, what + " : a stats page serves the page itself: it takes no 'server', 'discover',"
                + " 'pin-ports' or 'default_backend'");
            ok = false;
        }
        if (p.binds.isEmpty() && !p.failedKeywords.contains("bind")) {
            error(p.origin, what + " : a stats page needs a 'bind' line, e.g. 'bind 127.0.0.1:8404'");
            ok = false;
        }
        if (page.users.isEmpty()) {
            for (Bind b : p.binds) {
                if (!loopback(b)) {
                    error(b.origin(), what + " : the stats page binds " + b + ", which is not a loopback address:"
                        + " add 'stats auth <user>:<password>' (anyone who reaches the port would see every"
                        + " server), or bind 127.0.0.1");
                    ok = false;
                    break;
                }
            }
        }
        if (!ok) {
            return null;
        }
        String prometheus = page.prometheusEverywhere ? "" : page.prometheusPath;
        return new StatsPageConfig(p.name, p.binds, page.uri, page.refreshMs, page.users, page.realm,
            page.hideVersion, page.showLegends, prometheus, p.settings.clientMs, p.origin);
    }

    /** True when the bind's address is a loopback literal (127.0.0.0/8 or ::1); a wildcard is not. */
    private static boolean loopback(Bind b) {
        if (b.isWildcard()) {
            return false;
        }
        try {
            // an IP literal (the bind parser admits nothing else), so this parses and never looks a name up
            return java.net.InetAddress.getByName(b.host()).isLoopbackAddress();
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    private void checkSection(Section p) {
        Settings s = p.settings;
        String what = p.kind.keyword + " '" + p.name + "'";
        if (p.kind.frontend) {
            if (p.binds.isEmpty() && !p.failedKeywords.contains("bind")) {
                warning(p.origin, what + " has no 'bind' directive. Please declare it as a backend if this was"
                        + " intended.");
            }
            boolean ownBackend = p.kind == Kind.LISTEN && p.ownDefaultBackend == null;
            if (!ownBackend && !p.failedKeywords.contains("default_backend")) {
                if (s.defaultBackend == null) {
                    error(p.origin, what + " has no 'default_backend': Planetary sends every connection of a"
                            + " frontend to its default_backend");
                } else if (!backendNames.containsKey(s.defaultBackend)) {
                    error(s.defaultBackendOrigin, what + " : unable to find required default_backend: '"
                            + s.defaultBackend + "'");
                } else if (backendNames.get(s.defaultBackend).statsPage()) {
                    error(s.defaultBackendOrigin, what + " : default_backend '" + s.defaultBackend + "' is a stats"
                            + " page, not a backend of servers");
                }
            }
        }
        if (p.discover != null && !registryNames.containsKey(p.discover.genesis())) {
            error(p.discover.origin(), what + " : 'discover' names genesis '" + p.discover.genesis() + "', but no"
                + " 'genesis " + p.discover.genesis() + "' section is declared");
        }
        if (p.pinPorts != null) {
            checkPinPorts(p, what);
        }
        boolean frontendUntimed = p.kind.frontend && s.clientMs == 0;
        boolean serves = !p.servers.isEmpty() || p.discover != null;
        boolean backendUntimed = p.kind.backend && serves && (s.connectMs == 0 || s.serverMs == 0);
        if ((frontendUntimed || backendUntimed) && !p.failedKeywords.contains("timeout")) {
            warning(p.origin, "missing timeouts for " + what + MISSING_TIMEOUTS);
        }
    }

    /** A pinned port goes to a VM's server in the frontend's backend: that backend must discover its servers. */
    private void checkPinPorts(Section p, String what) {
        boolean ownBackend = p.kind == Kind.LISTEN && p.ownDefaultBackend == null;
        Section target = ownBackend ? p : backendNames.get(p.settings.defaultBackend);
        if (target == null) {
            return; // no such backend: reported above
        }
        if (target.discover == null) {
            String whose = target == p ? "it does not" : target.kind.keyword + " '" + target.name + "' does not";
            error(p.pinPorts.origin(), what + " : 'pin-ports " + p.pinPorts.kind().wire() + "' sends each pinned port to"
                + " a VM's server in the frontend's backend, but " + whose + " discover its servers (add"
                + " 'discover genesis <name> service <service>')");
        }
    }

    /** Every bind that could claim a socket an earlier one claims is an error, naming both lines. */
    private void checkOverlaps(List<Bind> binds, List<String> owners) {
        for (int j = 1; j < binds.size(); j++) {
            Bind later = binds.get(j);
            for (int i = 0; i < j; i++) {
                Bind earlier = binds.get(i);
                if (earlier.overlaps(later)) {
                    error(later.origin(), "bind " + later + " in " + owners.get(j) + " overlaps bind " + earlier
                            + " in " + owners.get(i) + " declared at " + earlier.origin().file() + ":"
                            + earlier.origin().line());
                    break;
                }
            }
        }
    }
}
