package org.feblam.flink.metrics;

import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.exporter.HTTPServer;
import org.apache.flink.metrics.prometheus.AbstractPrometheusReporter;
import org.apache.flink.util.PortRange;

import java.io.IOException;
import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.util.Iterator;

/**
 * Flink's Prometheus reporter with its HTTP server on one address: the metrics, their
 * names, labels and types are {@link AbstractPrometheusReporter}'s, as in Flink's
 * PrometheusReporter, which listens on every interface. Takes the first free port of
 * the range, as that one does, and fails the process's reporter setup (Flink logs it
 * and runs without the reporter) when none is free.
 */
public class LoopbackPrometheusReporter extends AbstractPrometheusReporter {

    private final HTTPServer server;
    private final int port;

    LoopbackPrometheusReporter(String host, PortRange ports) {
        CollectorRegistry registry = registry();
        Iterator<Integer> candidates = ports.getPortsIterator();
        HTTPServer started = null;
        int chosen = -1;
        while (started == null && candidates.hasNext()) {
            chosen = candidates.next();
            try {
                started = new HTTPServer(new InetSocketAddress(host, chosen), registry);
            } catch (IOException taken) {
                log.debug("Could not start the Prometheus HTTP server on {}:{}.", host, chosen, taken);
            }
        }
        if (started == null) {
            throw new RuntimeException("Could not start the Prometheus HTTP server on " + host + ", ports " + ports);
        }
        server = started;
        port = chosen;
        log.info("Started PrometheusReporter HTTP server on {}:{}.", host, port);
    }

    /**
     * The registry AbstractPrometheusReporter fills: a package-private field of Flink's,
     * read once here so the collectors stay Flink's own.
     */
    private CollectorRegistry registry() {
        try {
            Field field = AbstractPrometheusReporter.class.getDeclaredField("registry");
            field.setAccessible(true);
            return (CollectorRegistry) field.get(this);
        } catch (ReflectiveOperationException error) {
            throw new IllegalStateException("this Flink's AbstractPrometheusReporter has no registry field", error);
        }
    }

    int getPort() {
        return port;
    }

    @Override
    public void close() {
        server.stop();
        super.close();
    }
}
