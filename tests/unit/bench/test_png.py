import struct
import zlib

from feblam.bench.chart import write_chart
from feblam.bench.png import Canvas, read_png_header


def _decode(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and raw scanlines of a PNG written by Canvas."""
    width, height = read_png_header(data)
    position, idat = 8, b""
    while position < len(data):
        length, = struct.unpack(">I", data[position:position + 4])
        kind = data[position + 4:position + 8]
        body = data[position + 8:position + 8 + length]
        crc, = struct.unpack(">I", data[position + 8 + length:position + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        if kind == b"IDAT":
            idat += body
        position += 12 + length
    return width, height, zlib.decompress(idat)


def test_canvas_writes_a_valid_png_with_its_pixels():
    canvas = Canvas(4, 3)
    canvas.set(1, 2, (255, 0, 0))
    width, height, raw = _decode(canvas.png())
    assert (width, height) == (4, 3)
    assert len(raw) == 3 * (1 + 4 * 3)
    row = raw[2 * 13:3 * 13]
    assert row[0] == 0 and row[1 + 3:1 + 6] == b"\xff\x00\x00"


def test_lines_and_text_stay_inside_the_canvas():
    canvas = Canvas(20, 20)
    canvas.line(-5, -5, 30, 30, (0, 0, 0), width=2)
    canvas.text(15, 15, "READS/S 1,234 ?")
    assert len(canvas.pixels) == 20 * 20 * 3


def test_chart_of_two_engines(tmp_path):
    path = tmp_path / "chart" / "e2e.png"
    write_chart(path, {
        "feblam": {"throughput": [(1.0, 20_000.0), (2.0, 21_000.0)], "latencies_ms": [100.0, 150.0, 900.0]},
        "baseline": {"throughput": [(1.0, 40_000.0)], "latencies_ms": []},
    })
    assert read_png_header(path.read_bytes()) == (900, 640)
