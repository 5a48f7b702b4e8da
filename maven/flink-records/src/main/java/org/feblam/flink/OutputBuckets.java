package org.feblam.flink;

import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.streaming.api.functions.sink.filesystem.BucketAssigner;
import org.apache.flink.streaming.api.functions.sink.filesystem.bucketassigners.SimpleVersionedStringSerializer;
import org.apache.flink.types.Row;

/**
 * Files: each output Row(topic, key, value) of the job goes to the folder named
 * by its `topic` (hits, sightings, dead_letters, refusals), as on Kafka it goes
 * to that topic.
 */
public class OutputBuckets implements BucketAssigner<Row, String> {

    private static final long serialVersionUID = 1L;

    @Override
    public String getBucketId(Row element, Context context) {
        return (String) element.getField(0);
    }

    @Override
    public SimpleVersionedSerializer<String> getSerializer() {
        return SimpleVersionedStringSerializer.INSTANCE;
    }
}
