package example.http;

import java.time.Instant;
import java.time.temporal.ChronoUnit;

/** The /time endpoint's text. */
final class Clock {
    private Clock() {
    }

    static String now() {
        return Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    }
}
