"""Hostile and huge images: decompression bombs are refused from their header, large photos are
analysed downscaled and reported in their own pixels, memory stays bounded (real crafted files,
`moodcast analyze` as a process, the HTTP API)."""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib

import cv2
import numpy as np
import pytest
from conftest import REPO
from helpers import last_json

from moodcast.edge.errors import SourceError
from moodcast.edge.paths import SAMPLES_DIR
from moodcast.edge.sources.images import ImageSource, ImageTooLarge, decode

ASTRONAUT = (SAMPLES_DIR / "astronaut.jpg").read_bytes()


def jpeg_declaring(width: int, height: int) -> bytes:
    """A 629-byte JPEG whose header (SOF0) declares ``width`` x ``height``."""
    encoded = cv2.imencode(".jpg", np.full((8, 8, 3), 128, np.uint8))[1]
    data = bytearray(encoded.tobytes())
    sof = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def png_declaring(width: int, height: int, zeros: int = 1000) -> bytes:
    """A grey PNG declaring ``width`` x ``height`` whose IDAT inflates to ``zeros`` bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * zeros, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def large_photo(scale: int, suffix: str = ".jpg") -> bytes:
    rgb = cv2.imdecode(np.frombuffer(ASTRONAUT, np.uint8), cv2.IMREAD_COLOR)
    big = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    return cv2.imencode(suffix, big)[1].tobytes()


@pytest.mark.parametrize(
    "data, words",
    [
        (jpeg_declaring(30000, 30000), "declares over 179 megapixels"),
        (jpeg_declaring(20000, 20000), "declares over 179 megapixels"),
        (jpeg_declaring(8000, 6000), "8000x6000 is 48 megapixels"),
        (png_declaring(100000, 100000), "declares over 179 megapixels"),
        (png_declaring(12000, 4000, zeros=4000 * 12001), "12000x4000 is 48 megapixels"),
    ],
)
def test_a_bomb_is_refused_from_its_header(data, words):
    with pytest.raises(ImageTooLarge, match=f"bomb: refused, it {words}|bomb: refused, {words}"):
        decode(data, "bomb")


def test_bombs_to_analyze_are_reported_per_file_in_bounded_memory(tmp_path, record_property):
    files = {
        "j30k.jpg": jpeg_declaring(30000, 30000),
        "j20k.jpg": jpeg_declaring(20000, 20000),
        "p20k.png": png_declaring(20000, 20000, zeros=20000 * 2001),
        "ok.jpg": ASTRONAUT,
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    # A wrapper process, so that the peak RSS of its one child is `moodcast analyze`'s alone.
    wrapper = (
        "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
        "print('peak_mb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, file=sys.stderr); "
        "sys.exit(r.returncode)"
    )
    command = [sys.executable, "-m", "moodcast", "analyze", *(str(tmp_path / n) for n in files), "--json"]
    run = subprocess.run(
        [sys.executable, "-c", wrapper, *command], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    peak_mb = float(run.stderr.rsplit("peak_mb ", 1)[1])
    record_property("analyze_bombs_peak_rss_mb", round(peak_mb, 1))
    assert run.returncode == 1
    for name in ("j30k.jpg", "j20k.jpg", "p20k.png"):
        assert f"{name}: refused" in run.stderr and "source.max_image_pixels" in run.stderr
    images = last_json(run.stdout)["images"]
    assert [e["image"].rsplit("/", 1)[-1] for e in images] == ["ok.jpg"] and images[0]["scene"]["emotion"] == "happy"
    assert peak_mb < 400, f"peak RSS {peak_mb:.0f} MB"


def test_a_large_legal_photo_is_analysed_downscaled_and_reported_in_its_own_pixels(tmp_path):
    original = decode(ASTRONAUT, "astronaut")
    big = decode(large_photo(6), "big")  # 6x the sample on each side: 30 megapixels, under the limit
    assert (big.width, big.height) == (original.width * 6, original.height * 6)
    assert max(big.rgb.shape[:2]) == 1920 and big.scale == pytest.approx(1920 / big.width, abs=1e-3)
    png = decode(large_photo(5, ".png"), "big.png")  # no reduced decoding for PNG: resized after it
    assert (png.width, png.height) == (3200, 2400) and png.rgb.shape == (1440, 1920, 3)
    (tmp_path / "big.jpg").write_bytes(large_photo(6))
    from helpers import run_cli

    code, out, _ = run_cli("analyze", str(tmp_path / "big.jpg"), str(SAMPLES_DIR / "astronaut.jpg"), "--json")
    assert code == 0
    big_entry, small_entry = last_json(out)["images"]
    assert (big_entry["width"], big_entry["height"]) == (big.width, big.height)
    assert big_entry["scene"]["emotion"] == small_entry["scene"]["emotion"] == "happy"
    # The face's box, in the large photo's pixels, is the sample's box scaled by 6 (within 3%).
    np.testing.assert_allclose(big_entry["faces"][0]["box"], np.array(small_entry["faces"][0]["box"]) * 6, rtol=0.03)


def test_a_folder_source_skips_a_bomb(tmp_path):
    (tmp_path / "a.jpg").write_bytes(ASTRONAUT)
    (tmp_path / "b.jpg").write_bytes(jpeg_declaring(30000, 30000))
    source = ImageSource(tmp_path)
    assert len(list(source.frames())) == 1 and source.skipped == 1


def test_the_api_answers_413_for_a_bomb_and_boxes_in_the_photos_pixels():
    from moodcast.edge.config import load
    from moodcast.edge.service.api import create_app

    client = create_app(load(environ={})).test_client()
    for bomb in (jpeg_declaring(30000, 30000), png_declaring(100000, 100000)):
        r = client.post("/v1/analyze", data=bomb, content_type="image/jpeg")
        assert r.status_code == 413 and "refused" in r.get_json()["error"], r.get_json()
    r = client.post("/v1/analyze", data=large_photo(4), content_type="image/jpeg")
    body = r.get_json()
    assert r.status_code == 200 and body["width"] == 4 * decode(ASTRONAUT, "a").width
    assert body["faces"][0]["box"][2] > 250  # the sample's 79-pixel face, four times as wide


def phone_photo(orientation: int, scale: int = 3) -> bytes:
    """The sample as a phone stores a portrait or turned shot: pixels turned, EXIF Orientation set
    so that a viewer shows it upright (6: turn 90 degrees clockwise to show; 8: counter-clockwise)."""
    import io

    from PIL import Image

    upright = Image.open(io.BytesIO(ASTRONAUT)).convert("RGB")
    upright = upright.resize((upright.width * scale, upright.height * scale))
    stored = upright.transpose(Image.Transpose.ROTATE_90 if orientation == 6 else Image.Transpose.ROTATE_270)
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    stored.save(out, "JPEG", quality=95, exif=exif.tobytes())
    return out.getvalue()


@pytest.mark.parametrize("orientation", [6, 8])
def test_a_phone_photo_is_reported_upright_with_its_face_where_it_is_shown(orientation, tmp_path):
    """Width, height and boxes are of the picture as shown (EXIF orientation applied), as decoded."""
    from helpers import run_cli

    (tmp_path / "phone.jpg").write_bytes(phone_photo(orientation))
    (tmp_path / "upright.jpg").write_bytes(ASTRONAUT)
    code, out, _ = run_cli("analyze", str(tmp_path / "phone.jpg"), str(tmp_path / "upright.jpg"), "--json")
    assert code == 0
    phone, upright = last_json(out)["images"]
    assert (phone["width"], phone["height"]) == (upright["width"] * 3, upright["height"] * 3)
    assert phone["scene"]["emotion"] == "happy"
    np.testing.assert_allclose(phone["faces"][0]["box"], np.array(upright["faces"][0]["box"]) * 3, rtol=0.03)


def encoded(fmt: str, size=(64, 64), **options) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (120, 80, 60)).save(out, fmt, **options)
    return out.getvalue()


def test_formats_whose_decoders_cost_too_much_are_refused_before_decoding():
    """An 870-byte AVIF or a 1.7 KB JPEG 2000 at the pixel limit peaked at 621 / 579 MB; GIF is no
    camera's. The API answers 415; JPEG, PNG, WebP, BMP and TIFF are read."""
    from moodcast.edge.config import load
    from moodcast.edge.service.api import create_app
    from moodcast.edge.sources.images import UnsupportedImage

    for fmt, name in (("AVIF", "AVIF/HEIF"), ("JPEG2000", "JPEG 2000"), ("GIF", "GIF")):
        with pytest.raises(UnsupportedImage, match=f"{name} images are not accepted"):
            decode(encoded(fmt), fmt)
    for fmt in ("JPEG", "PNG", "WEBP", "BMP", "TIFF"):
        assert decode(encoded(fmt), fmt).rgb.shape == (64, 64, 3)
    client = create_app(load(environ={})).test_client()
    r = client.post("/v1/analyze", data=encoded("AVIF"), content_type="application/octet-stream")
    assert r.status_code == 415 and "AVIF/HEIF images are not accepted" in r.get_json()["error"]


def test_a_jpeg_of_many_scans_and_a_huge_progressive_one_are_refused_before_decoding():
    """A 110 KB JPEG of 10,000 empty scans took 26-88 s of CPU; a 162-byte progressive one
    declaring a large picture raised peak memory from 100 to 296 MB."""
    progressive = encoded("JPEG", progressive=True)
    assert 1 < progressive.count(b"\xff\xda") <= 64 and decode(progressive, "p").rgb.shape == (64, 64, 3)
    sos = progressive.index(b"\xff\xda")
    scan_bomb = progressive[:sos] + progressive[sos:-2] * 20 + b"\xff\xd9"
    with pytest.raises(ImageTooLarge, match="scans"):
        decode(scan_bomb, "scans.jpg")
    big = bytearray(encoded("JPEG", progressive=True))
    sof = big.find(b"\xff\xc2")
    struct.pack_into(">HH", big, sof + 5, 4000, 5000)  # declares 20 megapixels
    with pytest.raises(ImageTooLarge, match="progressive JPEG of 20 megapixels"):
        decode(bytes(big), "progressive.jpg")
    try:  # the same size in a baseline JPEG is decoded reduced: not refused
        decode(jpeg_declaring(5000, 4000), "baseline.jpg")
    except ImageTooLarge:
        pytest.fail("a baseline JPEG of 20 megapixels was refused")
    except SourceError:
        pass  # its 8x8 pixels do not fill the size it declares
