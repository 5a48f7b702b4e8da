package org.feblam.flink;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

import org.apache.flink.api.common.TaskInfo;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.types.Row;
import org.apache.flink.util.MathUtils;

/**
 * Gathers the records of one subtask (Rows of KafkaRecordWithPosition or LineRecords) into
 * batches, so that the Python step after it is called once per batch instead of
 * once per record: in thread mode each call into Python costs more than decoding
 * and matching a read.
 *
 * <p>Emits Row(key, Row(topic, partitions int[], offsets long[], key_lengths int[],
 * keys byte[], lengths int[], values byte[], decoded byte[])): one topic per batch, the record
 * keys and values each concatenated in arrival order (a missing key or value, such
 * as a tombstone's, has length -1), the values decoded by {@link ReadFields} when it
 * is given one (empty otherwise), and a key that Flink's key-group
 * assignment places on this same subtask index. Keyed by it (PyFlink's
 * KeyByKeySelector, field 0), batches stay on the subtask that read them: the
 * Python step gets keyed state and timers (to hold reads at start-up) without
 * records crossing to another subtask and without a Python step to compute a
 * key. The key is found from this subtask's index, the parallelism and the max
 * parallelism, which equal the keyed step's when both have the job's (the
 * default). After a rescale, keys move with their key groups.
 *
 * <p>A batch is emitted when it holds `maxRecords` records, when its first record
 * has waited `maxDelayMs`, when the topic changes, before every checkpoint barrier
 * and every watermark, and at the end of input. So no record is ever held across a checkpoint: the
 * operator has no state, and a restore loses nothing.
 */
public class SubtaskBatches extends AbstractStreamOperator<Row> implements OneInputStreamOperator<Row, Row> {

    private static final long serialVersionUID = 1L;

    private static final byte[] NOT_DECODED = new byte[0];

    private final int maxRecords;
    private final long maxDelayMs;
    private final ReadFields readFields;

    private transient Integer key;
    private transient String topic;
    private transient List<Row> records;
    private transient long generation;

    public SubtaskBatches(int maxRecords, long maxDelayMs) {
        this(maxRecords, maxDelayMs, null);
    }

    /** Batches whose values `readFields` also decodes (null: none). */
    public SubtaskBatches(int maxRecords, long maxDelayMs, ReadFields readFields) {
        if (maxRecords < 1 || maxDelayMs < 1) {
            throw new IllegalArgumentException("maxRecords and maxDelayMs must be positive");
        }
        this.maxRecords = maxRecords;
        this.maxDelayMs = maxDelayMs;
        this.readFields = readFields;
    }

    @Override
    public void open() throws Exception {
        super.open();
        TaskInfo task = getRuntimeContext().getTaskInfo();
        key = keyFor(task.getIndexOfThisSubtask(), task.getNumberOfParallelSubtasks(),
                task.getMaxNumberOfParallelSubtasks());
        records = new ArrayList<>(maxRecords);
    }

    @Override
    public void processElement(StreamRecord<Row> element) {
        Row record = element.getValue();
        String recordTopic = (String) record.getField(0);
        if (!records.isEmpty() && !recordTopic.equals(topic)) {
            emit();
        }
        if (records.isEmpty()) {
            topic = recordTopic;
            long due = getProcessingTimeService().getCurrentProcessingTime() + maxDelayMs;
            long batch = generation;
            getProcessingTimeService().registerTimer(due, timestamp -> {
                if (batch == generation) {  // not emitted since (by size, topic or barrier)
                    emit();
                }
            });
        }
        records.add(record);
        if (records.size() >= maxRecords) {
            emit();
        }
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        super.prepareSnapshotPreBarrier(checkpointId);
        emit();
    }

    /** A batch is never overtaken by a watermark (on files, the end of input's). */
    @Override
    public void processWatermark(Watermark mark) throws Exception {
        emit();
        super.processWatermark(mark);
    }

    @Override
    public void finish() throws Exception {
        emit();
        super.finish();
    }

    private void emit() {
        if (records.isEmpty()) {
            return;
        }
        int n = records.size();
        int[] partitions = new int[n];
        long[] offsets = new long[n];
        int[] keyLengths = new int[n];
        int[] lengths = new int[n];
        ByteArrayOutputStream keys = new ByteArrayOutputStream(n * 16);
        ByteArrayOutputStream values = new ByteArrayOutputStream(n * 128);
        List<byte[]> each = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Row record = records.get(i);
            partitions[i] = (Integer) record.getField(1);
            offsets[i] = (Long) record.getField(2);
            keyLengths[i] = append(keys, (byte[]) record.getField(4));
            byte[] value = (byte[]) record.getField(5);
            lengths[i] = append(values, value);
            each.add(value);
        }
        byte[] decoded = readFields == null ? NOT_DECODED : readFields.pickled(each);
        output.collect(new StreamRecord<>(Row.of(key, Row.of(topic, partitions, offsets, keyLengths, keys.toByteArray(),
                lengths, values.toByteArray(), decoded))));
        records.clear();
        generation++;
    }

    private static int append(ByteArrayOutputStream out, byte[] bytes) {
        if (bytes == null) {
            return -1;
        }
        out.write(bytes, 0, bytes.length);
        return bytes.length;
    }

    /** The smallest non-negative int whose key Row(k) lands on `subtask`. */
    static int keyFor(int subtask, int parallelism, int maxParallelism) {
        for (int candidate = 0; candidate < Integer.MAX_VALUE; candidate++) {
            if (operatorIndex(candidate, parallelism, maxParallelism) == subtask) {
                return candidate;
            }
        }
        throw new IllegalStateException("no key for subtask " + subtask);
    }

    /** KeyGroupRangeAssignment.assignKeyToParallelOperator for the key Row(k). */
    static int operatorIndex(int k, int parallelism, int maxParallelism) {
        Row keyRow = new Row(1);  // what KeyByKeySelector returns for Row(k, ...)
        keyRow.setField(0, k);
        int keyGroup = MathUtils.murmurHash(keyRow.hashCode()) % maxParallelism;
        return keyGroup * parallelism / maxParallelism;
    }
}
