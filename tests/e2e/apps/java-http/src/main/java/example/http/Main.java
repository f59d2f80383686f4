package example.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URL;
import java.nio.charset.StandardCharsets;

/**
 * A Java HTTP server on the JDK's own com.sun.net.httpserver (dockopt e2e sample).
 *
 * <p>{@code --selftest} serves on an ephemeral port and requests /health over HTTP: the
 * e2e smoke test, which needs no curl in the image and leaves no server behind.
 */
public final class Main {
    static final String VERSION = "0.4.1";

    private Main() {
    }

    static HttpServer server(InetSocketAddress address) throws IOException {
        HttpServer server = HttpServer.create(address, 0);
        server.createContext("/health", exchange -> reply(exchange, "application/json",
                "{\"status\":\"ok\",\"version\":\"" + VERSION + "\"}"));
        server.createContext("/time", exchange -> reply(exchange, "text/plain",
                Clock.now() + "\n"));
        return server;
    }

    private static void reply(HttpExchange exchange, String type, String body)
            throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.sendResponseHeaders(200, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    static int selftest() {
        HttpServer server;
        try {
            server = server(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        } catch (IOException e) {
            System.err.println("selftest: " + e);
            return 1;
        }
        server.start();
        try {
            URL url = new URL("http://127.0.0.1:" + server.getAddress().getPort() + "/health");
            HttpURLConnection conn = (HttpURLConnection) url.openConnection();
            int status = conn.getResponseCode();
            String body;
            try (InputStream in = conn.getInputStream()) {
                body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            System.out.println("selftest: " + status + " " + body);
            return status == 200 ? 0 : 1;
        } catch (IOException e) {
            System.err.println("selftest: " + e);
            return 1;
        } finally {
            server.stop(0);
        }
    }

    public static void main(String[] args) throws IOException {
        for (String arg : args) {
            if (arg.equals("--version")) {
                System.out.println("java-http " + VERSION);
                return;
            }
            if (arg.equals("--selftest")) {
                System.exit(selftest());
            }
        }
        String port = System.getenv().getOrDefault("PORT", "8080");
        HttpServer server = server(new InetSocketAddress(Integer.parseInt(port)));
        server.start();
        System.out.println("java-http " + VERSION + " listening on :" + port);
    }
}
