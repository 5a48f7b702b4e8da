package org.feblam.flink;

import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.types.Row;
// The SQL connector jar relocates kafka-clients; this class runs against that jar.
import org.apache.flink.kafka.shaded.org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Writes a Row of (topic, key, value) as one Kafka record, bytes untouched: the
 * Python side has already encoded key and value (Avro in the Confluent wire
 * format), and picks the topic per record (hits or dead letters).
 */
public class KafkaRecordFromRow implements KafkaRecordSerializationSchema<Row> {

    private static final long serialVersionUID = 1L;

    public static final String[] FIELDS = {"topic", "key", "value"};

    @Override
    public ProducerRecord<byte[], byte[]> serialize(Row row, KafkaSinkContext context, Long timestamp) {
        return new ProducerRecord<>(
                (String) row.getField(0), null, timestamp, (byte[]) row.getField(1), (byte[]) row.getField(2));
    }
}
