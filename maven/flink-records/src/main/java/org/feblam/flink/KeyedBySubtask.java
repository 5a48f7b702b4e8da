package org.feblam.flink;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.TaskInfo;
import org.apache.flink.types.Row;
import org.apache.flink.util.MathUtils;

/**
 * Wraps each record as Row(key, record), where the key is one that Flink's key-group
 * assignment places on this same subtask index. Keyed by it (PyFlink's
 * KeyByKeySelector, field 0), a stream stays on the subtask that read it: the next
 * operator gets keyed state and timers without records crossing to another
 * subtask, and without a Python step to compute the key.
 *
 * <p>The key is found for this subtask's index, the job's parallelism and the max
 * parallelism of this operator, which equals the keyed operator's when both share
 * the job's parallelism and max parallelism (the default). Records read by one
 * subtask keep their order; after a rescale the keys move with their key groups.
 */
public class KeyedBySubtask extends RichMapFunction<Row, Row> {

    private static final long serialVersionUID = 1L;

    private transient Integer key;

    @Override
    public void open(OpenContext openContext) {
        TaskInfo task = getRuntimeContext().getTaskInfo();
        key = keyFor(task.getIndexOfThisSubtask(), task.getNumberOfParallelSubtasks(),
                task.getMaxNumberOfParallelSubtasks());
    }

    @Override
    public Row map(Row record) {
        return Row.of(key, record);
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
