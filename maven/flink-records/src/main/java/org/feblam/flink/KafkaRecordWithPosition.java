package org.feblam.flink;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;
// The SQL connector jar relocates kafka-clients; this class runs against that jar.
import org.apache.flink.kafka.shaded.org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Every Kafka record as a Row of (topic, partition, offset, timestamp, key, value),
 * bytes untouched.
 *
 * <p>Contract: one Row per record, tombstones included (value null), nothing
 * decoded and nothing dropped, so that the Python side can dead-letter a bad
 * record with its exact bytes and position, and treat a tombstone as a delete.
 */
public class KafkaRecordWithPosition implements KafkaRecordDeserializationSchema<Row> {

    private static final long serialVersionUID = 1L;

    public static final String[] FIELDS = {"topic", "partition", "offset", "timestamp", "key", "value"};

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<Row> out) {
        out.collect(Row.of(record.topic(), record.partition(), record.offset(), record.timestamp(),
                record.key(), record.value()));
    }

    @Override
    public TypeInformation<Row> getProducedType() {
        return Types.ROW_NAMED(FIELDS, Types.STRING, Types.INT, Types.LONG, Types.LONG,
                Types.PRIMITIVE_ARRAY(Types.BYTE), Types.PRIMITIVE_ARRAY(Types.BYTE));
    }
}
