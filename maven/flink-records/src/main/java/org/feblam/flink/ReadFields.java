package org.feblam.flink;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

/**
 * Plate reads in the Confluent wire format decoded in Java, before the Python step, into
 * what that step would have decoded itself: a Python pickle of a list with, per record,
 * the dict `connectors.avro.AvroDecoder.decode` gives, or None where this class does
 * not decode the record. Python then unpickles a batch in one call, where fastavro
 * takes some 6.5 µs a read (docs/benchmarks.md, "Reads decoded in Java").
 *
 * <p>Only the plain case is decoded here: the Confluent header with magic byte 0, a
 * schema id of {@code schemaIds} (ids whose writer schema the job found equal to its
 * reader schema when it was built, so no schema resolution is needed), and a body that
 * is exactly one record of the reader schema, its varints no longer than ten bytes, its
 * union indexes and booleans in range, its strings well-formed UTF-8. Anything else is
 * None, and the Python step decodes that record itself, with its own reasons for a
 * dead letter: the one definition of what a malformed read is stays in Python, and this
 * class is only ever a faster way to the same dict.
 * tests/integration/test_read_fields.py holds it to fastavro's result on generated
 * records, broken ones included.
 *
 * <p>Why the Avro binary format is read by hand: the job has no Avro library on its
 * classpath (the only one at hand is shaded inside the registry format's jar, some
 * 10 MB shipped with every submission), the fields a read has are a handful of
 * primitive types, and each value is copied straight from the record's bytes to the
 * pickle, without the GenericRecord and String objects a library would make of it.
 * Measured on 100,000 generated reads, one core, after warm-up (a throwaway harness,
 * best of eight passes in one JVM): this class decodes and pickles a read in 0.17 µs,
 * where Avro's GenericDatumReader (the registry jar's) takes 0.30 µs to decode it
 * alone reusing one record, 0.58 µs into a fresh record with its strings made.
 *
 * <p>Field types, as the job gives them ({@code connectors.read_fields}): "null",
 * "boolean", "int", "long", "float", "double", "string", or a union of them written
 * "null|string".
 */
public final class ReadFields implements Serializable {

    private static final long serialVersionUID = 1L;

    private static final int HEADER = 5;
    private static final String[] PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "string"};
    private static final byte NULL = 0;
    private static final byte BOOLEAN = 1;
    private static final byte INT = 2;
    private static final byte LONG = 3;
    private static final byte FLOAT = 4;
    private static final byte DOUBLE = 5;
    private static final byte STRING = 6;
    /** At most this many fields: a field's name is memoised under a one-byte index. */
    private static final int MAX_FIELDS = 256;

    // Pickle opcodes (protocol 2, Lib/pickle.py).
    private static final byte PROTO = (byte) 0x80;
    private static final byte STOP = '.';
    private static final byte MARK = '(';
    private static final byte POP = '0';
    private static final byte EMPTY_LIST = ']';
    private static final byte APPENDS = 'e';
    private static final byte EMPTY_DICT = '}';
    private static final byte SETITEMS = 'u';
    private static final byte BINPUT = 'q';
    private static final byte BINGET = 'h';
    private static final byte NONE = 'N';
    private static final byte NEWTRUE = (byte) 0x88;
    private static final byte NEWFALSE = (byte) 0x89;
    private static final byte BININT = 'J';
    private static final byte LONG1 = (byte) 0x8a;
    private static final byte BINFLOAT = 'G';
    private static final byte BINUNICODE = 'X';

    private final int[] schemaIds;
    private final String[] names;
    /** Per field, its branches: one for a plain type, several for a union. */
    private final byte[][] types;

    private transient CharsetDecoder utf8;
    private transient byte[] out;
    private transient int size;
    private transient int at;

    /**
     * @param schemaIds the writer schema ids whose records are decoded here
     * @param names the reader schema's field names, in its order
     * @param types each field's type (see the class comment)
     */
    public ReadFields(int[] schemaIds, String[] names, String[] types) {
        if (names.length != types.length || names.length > MAX_FIELDS) {
            throw new IllegalArgumentException("one type per field, and at most " + MAX_FIELDS + " fields");
        }
        this.schemaIds = schemaIds.clone();
        Arrays.sort(this.schemaIds);
        this.names = names.clone();
        this.types = new byte[types.length][];
        for (int i = 0; i < types.length; i++) {
            String[] branches = types[i].split("\\|", -1);
            this.types[i] = new byte[branches.length];
            for (int b = 0; b < branches.length; b++) {
                int type = Arrays.asList(PRIMITIVES).indexOf(branches[b]);
                if (type < 0) {
                    throw new IllegalArgumentException("field " + names[i] + ": type " + types[i]
                            + " is not one of " + String.join(", ", PRIMITIVES) + " or a union of them");
                }
                this.types[i][b] = (byte) type;
            }
        }
    }

    /** The pickled list of `values`' decoded fields (None for those not decoded here). */
    public byte[] pickled(List<byte[]> values) {
        if (out == null) {
            out = new byte[1 << 16];
            utf8 = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT);
        }
        size = 0;
        put(PROTO);
        put((byte) 2);
        // The field names, once, in the memo: each record's dict takes them from there.
        for (int i = 0; i < names.length; i++) {
            byte[] name = names[i].getBytes(StandardCharsets.UTF_8);
            putText(name, 0, name.length);
            put(BINPUT);
            put((byte) i);
            put(POP);
        }
        put(EMPTY_LIST);
        put(MARK);
        for (byte[] value : values) {
            int mark = size;
            if (!record(value)) {
                size = mark;
                put(NONE);
            }
        }
        put(APPENDS);
        put(STOP);
        return Arrays.copyOf(out, size);
    }

    /** Writes the dict of `value`, or returns false (having written part of it) when it is not decoded here. */
    private boolean record(byte[] value) {
        if (value == null || value.length < HEADER || value[0] != 0) {
            return false;
        }
        int id = ((value[1] & 0xff) << 24) | ((value[2] & 0xff) << 16) | ((value[3] & 0xff) << 8) | (value[4] & 0xff);
        if (Arrays.binarySearch(schemaIds, id) < 0) {
            return false;
        }
        at = HEADER;
        put(EMPTY_DICT);
        put(MARK);
        for (int i = 0; i < types.length; i++) {
            put(BINGET);
            put((byte) i);
            byte[] branches = types[i];
            byte type = branches[0];
            if (branches.length > 1) {
                long branch = varint(value);
                if (branch < 0 || branch >= branches.length) {
                    return false;
                }
                type = branches[(int) branch];
            }
            if (!field(type, value)) {
                return false;
            }
        }
        put(SETITEMS);
        return at == value.length;   // exactly one record: bytes left over are Python's to name
    }

    private boolean field(byte type, byte[] value) {
        switch (type) {
            case NULL:
                put(NONE);
                return true;
            case BOOLEAN:
                if (at >= value.length || (value[at] & 0xfe) != 0) {
                    return false;
                }
                put(value[at++] == 1 ? NEWTRUE : NEWFALSE);
                return true;
            case INT: {
                long n = varint(value);
                if (n == Long.MIN_VALUE || n < Integer.MIN_VALUE || n > Integer.MAX_VALUE) {
                    return false;
                }
                put(BININT);
                putLittleEndian(n, 4);
                return true;
            }
            case LONG: {
                if (!varintFits(value)) {
                    return false;
                }
                long n = varint(value);
                put(LONG1);
                put((byte) 8);
                putLittleEndian(n, 8);
                return true;
            }
            case FLOAT:
            case DOUBLE: {
                int width = type == FLOAT ? 4 : 8;
                if (value.length - at < width) {
                    return false;
                }
                long bits = 0;
                for (int b = width - 1; b >= 0; b--) {
                    bits = (bits << 8) | (value[at + b] & 0xff);
                }
                at += width;
                double number = type == FLOAT ? Float.intBitsToFloat((int) bits) : Double.longBitsToDouble(bits);
                put(BINFLOAT);
                putBigEndian(Double.doubleToRawLongBits(number));
                return true;
            }
            default: {   // STRING
                long length = varint(value);
                if (length < 0 || length > value.length - at || !wellFormed(value, at, (int) length)) {
                    return false;
                }
                putText(value, at, (int) length);
                at += (int) length;
                return true;
            }
        }
    }

    /** Whether the varint at `at` is at most ten bytes, the tenth adding no bit past 64. */
    private boolean varintFits(byte[] value) {
        for (int i = 0; i < 10; i++) {
            if (at + i >= value.length) {
                return false;
            }
            if ((value[at + i] & 0x80) == 0) {
                return i < 9 || value[at + i] <= 1;
            }
        }
        return false;
    }

    /**
     * The zig-zag varint at `at`, moving past it; Long.MIN_VALUE when it runs past the
     * end or past ten bytes, which every caller refuses (a union index or a length must
     * not be negative, an int must fit 32 bits, and a long checks `varintFits` first).
     */
    private long varint(byte[] value) {
        if (!varintFits(value)) {
            return Long.MIN_VALUE;
        }
        long n = 0;
        int shift = 0;
        byte b;
        do {
            b = value[at++];
            n |= (long) (b & 0x7f) << shift;
            shift += 7;
        } while ((b & 0x80) != 0);
        return (n >>> 1) ^ -(n & 1);
    }

    private boolean wellFormed(byte[] value, int from, int length) {
        for (int i = from; i < from + length; i++) {
            if (value[i] < 0) {   // not ASCII: the strict decoder says, as Python's would
                try {
                    utf8.reset().decode(ByteBuffer.wrap(value, from, length));
                    return true;
                } catch (CharacterCodingException malformed) {
                    return false;
                }
            }
        }
        return true;
    }

    private void putText(byte[] text, int from, int length) {
        put(BINUNICODE);
        putLittleEndian(length, 4);
        room(length);
        System.arraycopy(text, from, out, size, length);
        size += length;
    }

    private void putLittleEndian(long n, int width) {
        room(width);
        for (int b = 0; b < width; b++) {
            out[size++] = (byte) (n >>> (8 * b));
        }
    }

    private void putBigEndian(long n) {
        room(8);
        for (int b = 7; b >= 0; b--) {
            out[size++] = (byte) (n >>> (8 * b));
        }
    }

    private void put(byte b) {
        room(1);
        out[size++] = b;
    }

    private void room(int more) {
        if (size + more > out.length) {
            out = Arrays.copyOf(out, Math.max(out.length * 2, size + more));
        }
    }

    /**
     * For the test that holds this class to fastavro. `args`: the schema ids,
     * comma-separated, then one `name:type` per field. Each line of standard input is
     * a base64 value ("-" for none); the one line out is the base64 pickle of them all.
     */
    public static void main(String[] args) throws IOException {
        int[] ids = Arrays.stream(args[0].split(",")).mapToInt(Integer::parseInt).toArray();
        String[] names = new String[args.length - 1];
        String[] types = new String[args.length - 1];
        for (int i = 1; i < args.length; i++) {
            int colon = args[i].indexOf(':');
            names[i - 1] = args[i].substring(0, colon);
            types[i - 1] = args[i].substring(colon + 1);
        }
        List<byte[]> values = new ArrayList<>();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            values.add("-".equals(line.trim()) ? null : Base64.getDecoder().decode(line.trim()));
        }
        System.out.println(Base64.getEncoder().encodeToString(new ReadFields(ids, names, types).pickled(values)));
    }
}
