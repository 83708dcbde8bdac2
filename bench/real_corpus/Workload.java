// One workload of the real-program corpus on the JVM: memory in Java arrays, or descriptors.
//
//   javac -d DIR Workload.java && java -cp DIR -XX:+UseSerialGC -Xms16m -Xmn8m Workload --window 50 --retain 30 --churn 40 --pattern random --cycle 1
//
// The shape is laid out over the recording window (--window seconds), as in the other runtimes'
// workloads: --base is held from the start, --retain is added between --ramp-start and --ramp-end
// (shares of the window; only when a churn cycle ends with --retain-at-cycle), and --churn comes and
// goes by --pattern (sawtooth, waves, random, none) every --cycle seconds. Memory units of --chunk-kib
// are long arrays, written; the collector frees them, but the heap keeps the pages it has touched
// until it shrinks, so heap sizing decides what the process's private memory shows. Descriptors are /dev/null.
import java.io.FileInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

public final class Workload {
    private final Map<String, String> options = new HashMap<>();
    private final boolean fds;
    private final int longs;
    // Fields, not locals: the JIT may treat a local that is no longer read as garbage, and a stream
    // that becomes garbage is closed by its cleaner.
    private final List<Object> held = new ArrayList<>(), retained = new ArrayList<>();
    private List<Object> transient_ = new ArrayList<>();
    private Random random;

    private Workload(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String key = args[i].replaceFirst("^--", "");
            boolean flag = key.equals("retain-at-cycle");
            options.put(key, flag ? "1" : args[++i]);
        }
        fds = text("resource", "memory").equals("fds");
        longs = (int) (number("chunk-kib", 64) * 1024 / 8);
        random = new Random((long) number("seed", 1));
    }

    private String text(String key, String fallback) {
        return options.getOrDefault(key, fallback);
    }

    private double number(String key, double fallback) {
        return Double.parseDouble(options.getOrDefault(key, Double.toString(fallback)));
    }

    private Object make() throws IOException {
        if (fds) return new FileInputStream("/dev/null");
        long[] chunk = new long[longs];
        for (int i = 0; i < longs; i++) chunk[i] = i;
        return chunk;
    }

    private void resize(List<Object> pool, long count) throws IOException {
        while (pool.size() < count) pool.add(make());
        while (pool.size() > count) {
            Object unit = pool.remove(pool.size() - 1);
            if (unit instanceof FileInputStream) ((FileInputStream) unit).close();
        }
    }

    private int lastCycle = 0;
    private double waveEnd = 0, nextWave = 0, height = 0, amount = 0, nextRandom = 0;
    private boolean ended;

    private double churnTarget(double s, double window) {
        double churn = number("churn", 0), cycle = number("cycle", 10);
        double scale = Math.max(1 + number("churn-trend", 0) * s / window, 0);
        String pattern = text("pattern", "none");
        ended = false;
        if (pattern.equals("sawtooth")) {
            int c = (int) (s / cycle);
            ended = c != lastCycle;
            lastCycle = c;
            return churn * scale * (s % cycle) / cycle;
        }
        if (pattern.equals("waves")) {
            if (s >= nextWave) {
                height = churn * scale * (0.3 + 0.7 * random.nextDouble());
                waveEnd = s + cycle * (0.5 + random.nextDouble());
                nextWave = waveEnd + cycle * (0.15 + 0.35 * random.nextDouble());
            }
            if (s >= waveEnd && height > 0) {
                height = 0;
                ended = true;
            }
            return height;
        }
        if (pattern.equals("random")) {
            if (s >= nextRandom) {
                amount = churn * scale * random.nextDouble();
                nextRandom = s + cycle;
            }
            return amount;
        }
        return 0;
    }

    private void run() throws Exception {
        double window = number("window", 80);
        double seconds = number("seconds", window + 30);
        double perUnit = fds ? 1 : 1024 / number("chunk-kib", 64);
        double rampStart = number("ramp-start", 0), rampEnd = number("ramp-end", 1);
        boolean atCycle = options.containsKey("retain-at-cycle");
        long tickMs = Math.round(number("tick", 0.05) * 1000);
        resize(held, Math.round(number("base", 0) * perUnit));
        long started = System.nanoTime();
        double s;
        while ((s = (System.nanoTime() - started) / 1e9) < seconds) {
            double wanted = churnTarget(s, window);
            if (ended && !fds) transient_ = new ArrayList<>();
            else resize(transient_, ended ? 0 : Math.round(wanted * perUnit));
            if (!atCycle || ended) {
                double done = Math.min(Math.max((s / window - rampStart) / Math.max(rampEnd - rampStart, 1e-9), 0), 1);
                resize(retained, Math.round(number("retain", 0) * perUnit * done));
            }
            Thread.sleep(tickMs);
        }
    }

    public static void main(String[] args) throws Exception {
        new Workload(args).run();
    }
}
