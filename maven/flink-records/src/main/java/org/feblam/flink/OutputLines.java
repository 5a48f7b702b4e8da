package org.feblam.flink;

import java.io.IOException;
import java.io.OutputStream;

import org.apache.flink.api.common.serialization.Encoder;
import org.apache.flink.types.Row;

/** Files: writes an output Row(topic, key, value) as its value and a line break. */
public class OutputLines implements Encoder<Row> {

    private static final long serialVersionUID = 1L;

    @Override
    public void encode(Row element, OutputStream stream) throws IOException {
        stream.write((byte[]) element.getField(2));
        stream.write('\n');
    }
}
