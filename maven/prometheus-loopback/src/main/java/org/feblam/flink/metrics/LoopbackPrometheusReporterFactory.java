package org.feblam.flink.metrics;

import org.apache.flink.metrics.reporter.MetricReporter;
import org.apache.flink.metrics.reporter.MetricReporterFactory;
import org.apache.flink.util.PortRange;

import java.util.Properties;

/**
 * Makes a {@link LoopbackPrometheusReporter}: {@code metrics.reporter.<name>.factory.class:
 * org.feblam.flink.metrics.LoopbackPrometheusReporterFactory}, with {@code host} (default
 * 127.0.0.1) and {@code port} (a port or a range such as 9249-9252, default 9249), the
 * options of Flink's own PrometheusReporterFactory plus the address.
 */
public class LoopbackPrometheusReporterFactory implements MetricReporterFactory {

    static final String ARG_HOST = "host";
    static final String ARG_PORT = "port";

    @Override
    public MetricReporter createMetricReporter(Properties properties) {
        String host = properties.getProperty(ARG_HOST, "127.0.0.1");
        String ports = properties.getProperty(ARG_PORT, "9249");
        return new LoopbackPrometheusReporter(host, new PortRange(ports));
    }
}
