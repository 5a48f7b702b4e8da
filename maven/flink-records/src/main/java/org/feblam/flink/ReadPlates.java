package org.feblam.flink;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.Base64;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.zip.CRC32;

import org.apache.flink.avro.registry.confluent.shaded.io.confluent.kafka.schemaregistry.ParsedSchema;
import org.apache.flink.avro.registry.confluent.shaded.io.confluent.kafka.schemaregistry.avro.AvroSchema;
import org.apache.flink.avro.registry.confluent.shaded.io.confluent.kafka.schemaregistry.client.CachedSchemaRegistryClient;
import org.apache.flink.avro.registry.confluent.shaded.io.confluent.kafka.schemaregistry.client.rest.exceptions.RestClientException;
import org.apache.flink.avro.shaded.org.apache.avro.AvroRuntimeException;
import org.apache.flink.avro.shaded.org.apache.avro.Schema;
import org.apache.flink.avro.shaded.org.apache.avro.generic.GenericDatumReader;
import org.apache.flink.avro.shaded.org.apache.avro.generic.GenericRecord;
import org.apache.flink.avro.shaded.org.apache.avro.io.DecoderFactory;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonFactory;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonParser;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonToken;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.json.JsonReadFeature;

/**
 * Where a read is handled: the bucket of its plate, found from the record's bytes in Java,
 * before any Python step, so that every read of one plate meets the others in one
 * place without a Python step to compute a key (docs/benchmarks.md, "Reads
 * partitioned by plate").
 *
 * <p>The bucket is CRC-32 of the plate's canonical text (spec §2, as
 * udfs.normalise.canon gives it) with each character replaced by its OCR class's
 * first character (udfs.platecode.OcrClasses), modulo the bucket count: plates that
 * may be confused with each other share a bucket. The rules themselves stay in
 * Python: this decides where a read goes, never whether it is valid or what it
 * matches, and the Python step decodes, validates and canonicalises every read
 * again. tests/integration/test_read_plates.py holds `canon` and the bucket to
 * Python's (udfs.normalise.canon, udfs.platecode.OcrClasses.bucket) on generated
 * text, JSON lines and Avro records.
 *
 * <p>Formats: JSON Lines (the file mode, spec §10: the top-level `plate_text`, the
 * last one when the key repeats, as Python's json module takes it) and Avro in the
 * Confluent wire format (the Kafka mode: the writer schema from the registry by the
 * id the record names, read into a schema of `plate_text` alone). A value with no
 * plate to find (not JSON or Avro, no `plate_text`, a schema id the registry does
 * not know) is {@link #UNPLACED}: the Python step makes it a dead letter. A registry
 * that does not answer is an IOException, since a read sent to the wrong bucket
 * would lose its partner silently.
 */
public final class ReadPlates implements Serializable {

    private static final long serialVersionUID = 1L;

    public static final String JSON_LINES = "json-lines";
    public static final String AVRO_CONFLUENT = "avro-confluent";
    /** The bucket of a value with no plate to find. */
    public static final int UNPLACED = -1;

    /** What is read of every writer schema: the plate as the camera sent it. */
    private static final String READER_SCHEMA = "{\"type\": \"record\", \"name\": \"PlateRead\", "
            + "\"namespace\": \"org.feblam\", \"fields\": [{\"name\": \"plate_text\", \"type\": \"string\"}]}";
    private static final int SCHEMA_CACHE = 1000;
    private static final int HTTP_NOT_FOUND = 404;

    private final String format;
    private final int buckets;
    private final char[] ocrClass;
    private final String registryUrls;
    private final HashMap<String, String> registryConfig;

    private transient JsonFactory json;
    private transient CachedSchemaRegistryClient registry;
    private transient Schema reader;
    private transient Map<Integer, GenericDatumReader<GenericRecord>> readers;

    /**
     * @param format {@link #JSON_LINES} or {@link #AVRO_CONFLUENT}
     * @param buckets how many buckets plates are spread over (at least 1)
     * @param ocrClasses the OCR classes of the matching settings, each a string of
     *     characters that may be confused, its first the class's representative
     * @param registryUrls the registry's URLs, comma-separated (Avro only)
     * @param registryConfig the Confluent client's settings (credentials, TLS)
     */
    public ReadPlates(String format, int buckets, String[] ocrClasses, String registryUrls,
                      Map<String, String> registryConfig) {
        if (!JSON_LINES.equals(format) && !AVRO_CONFLUENT.equals(format)) {
            throw new IllegalArgumentException("unknown read format " + format);
        }
        if (buckets < 1) {
            throw new IllegalArgumentException("buckets must be at least 1");
        }
        if (AVRO_CONFLUENT.equals(format) && (registryUrls == null || registryUrls.isEmpty())) {
            throw new IllegalArgumentException("Avro reads need the registry's URL");
        }
        this.format = format;
        this.buckets = buckets;
        this.ocrClass = classTable(ocrClasses);
        this.registryUrls = registryUrls;
        this.registryConfig = registryConfig == null ? new HashMap<>() : new HashMap<>(registryConfig);
    }

    /** Makes the parser or the registry client; once per subtask, before {@link #bucket}. */
    public void open() {
        if (JSON_LINES.equals(format)) {
            json = JsonFactory.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();
        } else {
            registry = new CachedSchemaRegistryClient(registryUrls, SCHEMA_CACHE, registryConfig);
            reader = new Schema.Parser().parse(READER_SCHEMA);
            readers = new HashMap<>();
        }
    }

    /** The bucket of the read in `value`, or {@link #UNPLACED}. */
    public int bucket(byte[] value) throws IOException {
        String text = JSON_LINES.equals(format) ? jsonPlate(value) : avroPlate(value);
        return text == null ? UNPLACED : bucketOf(text);
    }

    /** The bucket of a plate as the camera sent it (not yet canonical). */
    int bucketOf(String plateText) {
        String plate = canon(plateText);
        byte[] classed = new byte[plate.length()];
        for (int i = 0; i < classed.length; i++) {
            classed[i] = (byte) ocrClass[plate.charAt(i)];
        }
        CRC32 crc = new CRC32();
        crc.update(classed);
        return (int) (crc.getValue() % buckets);
    }

    private String jsonPlate(byte[] value) {
        if (value == null) {
            return null;
        }
        String plate = null;
        try (JsonParser parser = json.createParser(value)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                JsonToken token = parser.nextToken();
                if ("plate_text".equals(name)) {
                    plate = token == JsonToken.VALUE_STRING ? parser.getText() : null;
                } else {
                    parser.skipChildren();
                }
            }
        } catch (IOException malformed) {
            return null;
        }
        return plate;
    }

    private String avroPlate(byte[] value) throws IOException {
        if (value == null || value.length < 5 || value[0] != 0) {
            return null;
        }
        int id = ((value[1] & 0xff) << 24) | ((value[2] & 0xff) << 16) | ((value[3] & 0xff) << 8) | (value[4] & 0xff);
        GenericDatumReader<GenericRecord> datumReader = readers.get(id);
        if (datumReader == null) {
            Schema writer = writerSchema(id);
            if (writer == null) {
                return null;
            }
            datumReader = new GenericDatumReader<>(writer, reader);
            readers.put(id, datumReader);
        }
        try {
            Object plate = datumReader.read(null, DecoderFactory.get().binaryDecoder(value, 5, value.length - 5, null))
                    .get("plate_text");
            return plate == null ? null : plate.toString();
        } catch (IOException | AvroRuntimeException | IndexOutOfBoundsException malformed) {
            return null;
        }
    }

    private Schema writerSchema(int id) throws IOException {
        ParsedSchema parsed;
        try {
            parsed = registry.getSchemaById(id);
        } catch (RestClientException refused) {
            if (refused.getStatus() == HTTP_NOT_FOUND) {
                return null;
            }
            throw new IOException("the schema registry refused schema id " + id + ": " + refused.getMessage(), refused);
        }
        return parsed instanceof AvroSchema ? ((AvroSchema) parsed).rawSchema() : null;
    }

    /**
     * Spec §2, as udfs.normalise.canon: NFKD, combining marks dropped, upper-case,
     * only A-Z and 0-9 kept. The marks need no step of their own here: none of them
     * is A-Z or 0-9, in either case, so the last step drops them. Characters that
     * this JVM's Unicode does not have yet (Java 17 has Unicode 13, Python 3.11 has
     * 14) may decompose in Python and not here: a read written with one goes to
     * another bucket than its plate's. No plate is written with them; the step that
     * takes the reads can tell such a read by its own canonical plate's bucket.
     */
    static String canon(String text) {
        StringBuilder plate = new StringBuilder(text.length());
        boolean ascii = true;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c >= 0x80) {
                ascii = false;
                break;
            }
            keep(plate, Character.toUpperCase(c));
        }
        if (ascii) {
            return plate.toString();
        }
        plate.setLength(0);
        String folded = Normalizer.normalize(text, Normalizer.Form.NFKD).toUpperCase(Locale.ROOT);
        for (int i = 0; i < folded.length(); i++) {
            keep(plate, folded.charAt(i));
        }
        return plate.toString();
    }

    private static void keep(StringBuilder plate, char c) {
        if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
            plate.append(c);
        }
    }

    /** For each of A-Z and 0-9, its OCR class's representative (itself when in none). */
    private static char[] classTable(String[] classes) {
        char[] table = new char[128];
        for (char c = 0; c < 128; c++) {
            table[c] = c;
        }
        for (String members : classes == null ? new String[0] : classes) {
            for (int i = 0; i < members.length(); i++) {
                char member = members.charAt(i);
                if (member >= 128) {
                    throw new IllegalArgumentException("OCR class " + members + " has a character beyond ASCII");
                }
                table[member] = members.charAt(0);
            }
        }
        return table;
    }

    /**
     * For the tests that hold this class to Python's rules. `args`: a mode, the bucket
     * count, then the OCR classes. Each line of standard input is a base64 value; each
     * line out is, in mode `text`, the value's canonical plate (as UTF-8 text), its
     * bucket, and 1 when this JVM's Unicode has every character of it (else 0),
     * tab-separated, and in modes `json-lines` and `avro-confluent=URL` the
     * bucket of the read in the value.
     */
    public static void main(String[] args) throws IOException {
        String mode = args[0];
        String[] classes = java.util.Arrays.copyOfRange(args, 2, args.length);
        int buckets = Integer.parseInt(args[1]);
        boolean text = "text".equals(mode);
        ReadPlates plates = mode.startsWith(AVRO_CONFLUENT + "=")
                ? new ReadPlates(AVRO_CONFLUENT, buckets, classes, mode.substring(AVRO_CONFLUENT.length() + 1), null)
                : new ReadPlates(text ? JSON_LINES : mode, buckets, classes, null, null);
        plates.open();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
        StringBuilder out = new StringBuilder();
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            byte[] value = Base64.getDecoder().decode(line.trim());
            if (text) {
                String plate = new String(value, StandardCharsets.UTF_8);
                boolean defined = plate.codePoints().allMatch(Character::isDefined);
                out.append(canon(plate)).append('\t').append(plates.bucketOf(plate)).append('\t')
                        .append(defined ? 1 : 0).append('\n');
            } else {
                out.append(plates.bucket(value)).append('\n');
            }
        }
        System.out.print(out);
    }
}
