import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.HexFormat;

/** A tiny JSON API: a digest, a time zone conversion and a greeting. */
public class Main {
    private static void reply(HttpExchange exchange, int status, String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    public static void main(String[] args) throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress(8080), 0);
        server.createContext("/", exchange -> {
            String path = exchange.getRequestURI().getPath();
            try {
                if (path.equals("/")) {
                    reply(exchange, 200, "{\"service\":\"java-example\",\"endpoints\":[\"/digest\",\"/tokyo\"]}");
                } else if (path.equals("/digest")) {
                    byte[] hash = MessageDigest.getInstance("SHA-256").digest("slim".getBytes(StandardCharsets.UTF_8));
                    reply(exchange, 200, "{\"sha256\":\"" + HexFormat.of().formatHex(hash) + "\"}");
                } else if (path.equals("/tokyo")) {
                    ZonedDateTime noon = ZonedDateTime.of(2024, 6, 1, 12, 0, 0, 0, ZoneId.of("UTC"));
                    reply(exchange, 200, "{\"tokyo\":\"" + noon.withZoneSameInstant(ZoneId.of("Asia/Tokyo")) + "\"}");
                } else {
                    reply(exchange, 404, "{\"error\":\"not found\"}");
                }
            } catch (Exception e) {
                reply(exchange, 500, "{\"error\":\"" + e.getClass().getSimpleName() + "\"}");
            }
        });
        server.start();
        System.out.println("listening on :8080");
    }
}
