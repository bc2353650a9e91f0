package dev.planetary.registry.testing;

import com.fasterxml.jackson.databind.JsonNode;
import dev.planetary.registry.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A Server-Sent Events reader for tests: events and comments land in queues, read on a thread of its own. */
public final class SseClient implements AutoCloseable {

    /** One event. */
    public record Event(String id, String type, JsonNode data) {
        public long version() {
            return Long.parseLong(id);
        }
    }

    public final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    public final BlockingQueue<String> comments = new LinkedBlockingQueue<>();
    private final InputStream body;
    private final Thread reader;
    public final int status;
    /** The stream's {@code Genesis-History} header (null when absent). */
    public final String history;

    public SseClient(HttpClient http, String url) throws IOException, InterruptedException {
        this(http, url, new String[0]);
    }

    /** {@code headers}: request header names and values, alternating. */
    public SseClient(HttpClient http, String url, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).GET();
        if (headers.length > 0) {
            b.headers(headers);
        }
        HttpResponse<InputStream> r = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        status = r.statusCode();
        history = r.headers().firstValue("Genesis-History").orElse(null);
        body = r.body();
        reader = new Thread(this::read, "sse-reader");
        reader.setDaemon(true);
        reader.start();
    }

    private void read() {
        try (BufferedReader br = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
            String id = null;
            String type = "message";
            StringBuilder data = new StringBuilder();
            for (String line; (line = br.readLine()) != null; ) {
                if (line.isEmpty()) {
                    if (data.length() > 0) {
                        events.add(new Event(id, type, Json.MAPPER.readTree(data.toString())));
                    }
                    id = null;
                    type = "message";
                    data.setLength(0);
                } else if (line.startsWith(":")) {
                    comments.add(line);
                } else if (line.startsWith("id: ")) {
                    id = line.substring(4);
                } else if (line.startsWith("event: ")) {
                    type = line.substring(7);
                } else if (line.startsWith("data: ")) {
                    data.append(line.substring(6));
                }
            }
        } catch (IOException e) {
            // closed
        }
    }

    /** The next event within {@code timeout}, or an AssertionError. */
    public Event next(Duration timeout) throws InterruptedException {
        Event e = events.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (e == null) {
            throw new AssertionError("no event within " + timeout);
        }
        return e;
    }

    @Override
    public void close() {
        try {
            body.close();
        } catch (IOException ignored) {
            // closing
        }
    }
}
