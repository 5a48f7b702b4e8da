package org.feblam.flink;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.file.src.reader.SimpleStreamFormat;
import org.apache.flink.core.fs.FSDataInputStream;
import org.apache.flink.types.Row;

/**
 * The lines of a file as the records of a Kafka topic: Row(topic, partition, offset,
 * timestamp, key, value), the shape of {@link KafkaRecordWithPosition}, so the job
 * runs one chain on files and on Kafka.
 *
 * <p>Contract: one Row per line, blank lines included (a reference file's end is
 * its last line, whatever it holds); `topic` is the name given to the format,
 * `partition` 0, `offset` the line number from 1, `timestamp` -1, `key` null,
 * `value` the line's UTF-8 bytes without its line break. Lines before
 * `firstLine` are read and counted but not emitted (the job loads a reference
 * file itself and streams only what follows). The format cannot be split, so
 * one reader reads a file in order; on restore Flink skips the lines already
 * emitted by reading them again, and the numbering stays the same.
 */
public class LineRecords extends SimpleStreamFormat<Row> {

    private static final long serialVersionUID = 1L;

    private final String topic;
    private final long firstLine;

    public LineRecords(String topic, long firstLine) {
        this.topic = topic;
        this.firstLine = firstLine;
    }

    @Override
    public Reader<Row> createReader(Configuration config, FSDataInputStream stream) {
        BufferedReader lines = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8), 1 << 16);
        return new Reader<Row>() {
            private long line;

            @Override
            public Row read() throws IOException {
                String text;
                do {
                    text = lines.readLine();
                    if (text == null) {
                        return null;
                    }
                    line++;
                } while (line < firstLine);
                return Row.of(topic, 0, line, -1L, null, text.getBytes(StandardCharsets.UTF_8));
            }

            @Override
            public void close() throws IOException {
                lines.close();
            }
        };
    }

    @Override
    public TypeInformation<Row> getProducedType() {
        return Types.ROW_NAMED(KafkaRecordWithPosition.FIELDS, Types.STRING, Types.INT, Types.LONG, Types.LONG,
                Types.PRIMITIVE_ARRAY(Types.BYTE), Types.PRIMITIVE_ARRAY(Types.BYTE));
    }
}
