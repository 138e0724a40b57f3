package dev.hydrant.opensearch;

import org.apache.logging.log4j.LogManager;
import org.opensearch.common.network.NetworkAddress;
import org.opensearch.common.settings.Settings;
import org.opensearch.core.common.transport.TransportAddress;
import org.opensearch.env.Environment;
import org.opensearch.http.HttpServerTransport;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.ExtensiblePlugin;
import org.opensearch.plugins.Plugin;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

/**
 * Starts one OpenSearch 2.19 node in this JVM, with the distribution's modules that Maven Central
 * carries loaded as classpath plugins (no bootstrap checks, no security manager, no security plugin).
 *
 * <pre>
 * java ... dev.hydrant.opensearch.Main --home DIR [--data DIR] [--http-port P] [--name N] [--watch-pid PID] [key=value ...]
 * </pre>
 *
 * Prints {@code OPENSEARCH_PLUGINS a,b,...} and then {@code OPENSEARCH_READY http://127.0.0.1:PORT} on stdout once
 * the node is started and HTTP is bound (with {@code --http-port 0}, the default, the OS picks the port).
 * SIGTERM closes the node cleanly; with {@code --watch-pid} the node also closes when that process ends.
 * Logs (log4j2.properties) go to stderr, warnings and worse only.
 */
public final class Main {

    private static final String REPLICAS = "cluster.default_number_of_replicas";

    /** The modules that are loaded when their class is on the classpath (see pom.xml). */
    private static final String[] PLUGINS = {
        "org.opensearch.transport.Netty4Plugin",
        "org.opensearch.analysis.common.CommonAnalysisPlugin",
        "org.opensearch.painless.PainlessPlugin",
        "org.opensearch.index.mapper.MapperExtrasPlugin",
        "org.opensearch.ingest.common.IngestCommonPlugin",
        "org.opensearch.geo.GeoModulePlugin",
        "org.opensearch.search.aggregations.matrix.MatrixAggregationPlugin",
        "org.opensearch.join.ParentJoinPlugin",
        "org.opensearch.percolator.PercolatorPlugin",
        "org.opensearch.index.reindex.ReindexPlugin",
        "org.opensearch.script.mustache.MustachePlugin",
        "org.opensearch.index.rankeval.RankEvalPlugin", };

    /** Node's constructor that takes classpath plugins is protected. */
    static final class ReferenceNode extends Node {
        ReferenceNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
            super(environment, plugins, true);
        }
    }

    private static void usage(String why) {
        System.err.println("opensearch-node: " + why);
        System.err.println(
            "usage: Main --home DIR [--data DIR] [--http-port P] [--name N] [--watch-pid PID] [key=value ...]"
        );
        System.exit(2);
    }

    /** The stack trace, then one line with the root cause last, where a log tail shows it. */
    private static void fatal(String what, Throwable e) {
        e.printStackTrace();
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        System.err.println("opensearch-node: " + what + ": " + e + (root != e ? " (caused by " + root + ")" : ""));
        System.err.flush();
        System.exit(1);
    }

    /**
     * Classpath plugins extend no other plugin, so PluginsService hands Painless no extensions: the allowlists of
     * ingest-common ({@code Processors.lowercase(...)} in ingest scripts) and analysis-common (predicate token
     * filter scripts) would be missing. Painless keeps its allowlists in a static map, so loading the classpath's
     * PainlessExtension services into it once, before the node is built, gives the node's Painless all of them.
     */
    private static void loadPainlessExtensions() {
        try {
            new PainlessPlugin().loadExtensions(new ExtensiblePlugin.ExtensionLoader() {
                @Override
                public <T> List<T> loadExtensions(Class<T> type) {
                    List<T> found = new ArrayList<>();
                    ServiceLoader.load(type, Main.class.getClassLoader()).forEach(found::add);
                    return found;
                }
            });
        } catch (Throwable e) {
            System.err.println("opensearch-node: painless extensions not loaded: " + e);
        }
    }

    private static void removeTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (Exception e) {
            System.err.println("opensearch-node: could not remove " + root + ": " + e);
        }
    }

    public static void main(String[] args) throws Exception {
        // stdout carries only the machine-readable lines; keep it line-flushed even when it is a pipe or a file.
        PrintStream out = new PrintStream(System.out, true, "UTF-8");
        Path home = null;
        Path data = null;
        String httpPort = "0";
        String name = "hydrant-reference";
        long watchPid = -1;
        List<String[]> extra = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            boolean hasValue = i + 1 < args.length;
            switch (a) {
                case "--home":
                    if (!hasValue) usage("--home needs a value");
                    home = Path.of(args[++i]).toAbsolutePath();
                    break;
                case "--data":
                    if (!hasValue) usage("--data needs a value");
                    data = Path.of(args[++i]).toAbsolutePath();
                    break;
                case "--http-port":
                    if (!hasValue) usage("--http-port needs a value");
                    httpPort = args[++i];
                    break;
                case "--name":
                    if (!hasValue) usage("--name needs a value");
                    name = args[++i];
                    break;
                case "--watch-pid":
                    if (!hasValue) usage("--watch-pid needs a value");
                    watchPid = Long.parseLong(args[++i]);
                    break;
                default:
                    int eq = a.indexOf('=');
                    if (a.startsWith("-") || eq <= 0) usage("unexpected argument: " + a);
                    extra.add(new String[] { a.substring(0, eq), a.substring(eq + 1) });
            }
        }
        if (home == null) usage("--home is required");
        if (data == null) data = home.resolve("data");
        for (String sub : new String[] { "config", "modules", "plugins", "logs" }) {
            Files.createDirectories(home.resolve(sub));
        }
        Files.createDirectories(data);

        Settings.Builder settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", data.toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", "hydrant-reference")
            .put("node.name", name)
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", httpPort)
            .put("transport.port", "0")
            // A nearly full disk must not turn the cluster yellow/red, and a single node has nowhere to put replicas.
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put(REPLICAS, 0);
        for (String[] kv : extra) {
            settings.put(kv[0], kv[1]);
        }

        List<Class<? extends Plugin>> plugins = new ArrayList<>();
        List<String> loaded = new ArrayList<>();
        for (String cls : PLUGINS) {
            try {
                plugins.add(Class.forName(cls).asSubclass(Plugin.class));
                loaded.add(cls.substring(cls.lastIndexOf('.') + 1));
            } catch (ClassNotFoundException | LinkageError e) {
                System.err.println("opensearch-node: plugin " + cls + " not loaded: " + e);
            }
        }

        Thread.setDefaultUncaughtExceptionHandler((t, e) -> {
            if (e instanceof Error) {
                // As OpenSearch's own handler does: an Error leaves the node in an unknown state.
                System.err.println("opensearch-node: fatal error in thread " + t.getName() + ", halting");
                e.printStackTrace();
                Runtime.getRuntime().halt(1);
            } else {
                System.err.println("opensearch-node: uncaught exception in thread " + t.getName());
                e.printStackTrace();
            }
        });

        loadPainlessExtensions();

        final String nodeName = name;
        final CountDownLatch stopped = new CountDownLatch(1);
        // A directory that opensearch.sh made for this node (no --data): removed when the watched process ends,
        // so that a test run that dies leaves neither a JVM nor its files behind.
        final Path scratch = home.getParent();
        final AtomicBoolean removeOnExit = new AtomicBoolean(false);
        final Node node;
        try {
            Environment env = InternalSettingsPreparer.prepareEnvironment(
                settings.build(),
                Map.of(),
                home.resolve("config"),
                () -> nodeName
            );
            node = new ReferenceNode(env, plugins);
        } catch (Throwable e) {
            fatal("failed to create the node", e);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                if (!node.awaitClose(20, TimeUnit.SECONDS)) {
                    System.err.println("opensearch-node: node did not close within 20s");
                }
            } catch (Throwable e) {
                System.err.println("opensearch-node: error while closing");
                e.printStackTrace();
            } finally {
                if (removeOnExit.get()) {
                    removeTree(scratch);
                }
                stopped.countDown();
                LogManager.shutdown();
            }
        }, "opensearch-node-shutdown"));

        try {
            node.start();
        } catch (Throwable e) {
            fatal("failed to start the node", e);
            return;
        }

        if (watchPid > 0) {
            long pid = watchPid;
            Runnable watchedEnded = () -> {
                System.err.println("opensearch-node: watched process " + pid + " ended, stopping");
                removeOnExit.set(scratch != null && Files.exists(scratch.resolve(".made-by-opensearch-sh")));
                System.exit(0);
            };
            ProcessHandle.of(pid).ifPresentOrElse(ph -> ph.onExit().thenRun(watchedEnded), watchedEnded);
        }

        try {
            // cluster.default_number_of_replicas is read from the cluster state's settings, not from the node's:
            // persist it there (from the node settings, so a key=value argument can still change it).
            node.client()
                .admin()
                .cluster()
                .prepareUpdateSettings()
                .setPersistentSettings(
                    Settings.builder().put(REPLICAS, node.settings().get(REPLICAS, "0"))
                )
                .get();
        } catch (Throwable e) {
            fatal("failed to set " + REPLICAS, e);
        }

        TransportAddress http = node.injector().getInstance(HttpServerTransport.class).boundAddress().publishAddress();
        out.println("OPENSEARCH_PLUGINS " + String.join(",", loaded));
        out.println("OPENSEARCH_READY http://" + NetworkAddress.format(http.address()));
        stopped.await();
    }
}
