"""Reading and writing images (issue 11): 16-bit colour keeps its depth, files keep their metadata,
a full disk says so, and float input has one value range and no NaN."""
import errno
import os

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

from engine import ColorizeError
from engine import imageio
from engine.color import luminance
from engine.imageio import read_image, read_picture, write_image

ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def grey_array(h, w, seed=0):
    y, x = np.mgrid[0:h, 0:w]
    return (128 + 90 * np.sin(x / 7.0 + seed) * np.cos(y / 11.0)).clip(0, 255).astype(np.uint8)


def deep_rgb(h=48, w=72):
    """16-bit RGB with thousands of levels per channel: smooth ramps a little apart in colour."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    base = 4000 + 55000 * (x / w) * (0.6 + 0.4 * np.cos(y / 9.0))
    return np.dstack([base, base * 0.97 + 800, base * 0.94 + 1500]).clip(0, 65535).astype(np.uint16)


def exif(orientation=None) -> Image.Exif:
    e = Image.Exif()
    e[315] = "Ann Artist"
    e[271] = "Camera Co"
    e.get_ifd(0x8769)[0x9003] = "2020:01:02 03:04:05"  # DateTimeOriginal, in the Exif sub-directory
    if orientation is not None:
        e[0x0112] = orientation
    return e


def read16(path):
    """A 16-bit file as RGB(A), read by OpenCV (not by the code under test)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return bgr[..., [2, 1, 0, 3][: bgr.shape[2]]]


@pytest.mark.parametrize("name, channels", [("deep.png", 3), ("deep.tif", 4)])
def test_16bit_colour_keeps_its_depth(colorizer, tmp_path, name, channels):
    rgb = deep_rgb()
    alpha = np.tile(np.linspace(0, 65535, rgb.shape[1]).astype(np.uint16), (rgb.shape[0], 1))
    src = tmp_path / name
    cv2.imwrite(str(src), np.dstack([rgb, alpha][: 1 + (channels == 4)])[..., [2, 1, 0, 3][:channels]])
    pic = read_picture(src)
    assert pic.samples.dtype == np.uint16 and pic.maxval == 65535 and pic.kind == "pil"
    np.testing.assert_array_equal(pic.samples, rgb)

    dst = tmp_path / ("out" + src.suffix)
    colorizer.colorize_file(src, dst)
    out = read16(dst)
    assert out.dtype == np.uint16 and out.shape == rgb.shape[:2] + (channels,)
    assert min(len(np.unique(out[..., c])) for c in range(3)) > 2000  # 8 bits would give at most 256
    if channels == 4:
        np.testing.assert_array_equal(out[..., 3], alpha)
    # the source's own luminance comes back at 16-bit precision, not rounded to 8 bits (±128 here)
    unclipped = (out[..., :3].min(-1) > 0) & (out[..., :3].max(-1) < 65535)
    dy = np.abs(luminance(out[..., :3].astype(np.float64)) - luminance(rgb.astype(np.float64)))[unclipped]
    assert unclipped.mean() > 0.5 and np.median(dy) < 16

    dst2 = tmp_path / ("saved" + src.suffix)
    colorizer.predict(src).save(dst2)
    assert read16(dst2).dtype == np.uint16
    back = colorizer.colorize(str(src))  # the library still gives a path's result back as a PIL image
    assert isinstance(back, Image.Image) and back.mode == ("RGBA" if channels == 4 else "RGB")


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_reader_turns_like_pillow(tmp_path, orientation, suffix):
    """OpenCV reads the 16 bits, the EXIF orientation is applied as Pillow applies it to its 8 bits."""
    src = tmp_path / ("rotated" + suffix)
    rgba = np.dstack([deep_rgb(20, 30), np.tile(np.arange(30, dtype=np.uint16) * 2000, (20, 1))])
    write_image(rgba, src, meta={"exif": exif(orientation).tobytes()})
    pic, pil = read_picture(src), np.asarray(read_image(src))
    assert pic.samples.shape == pil.shape[:2] + (3,) and pic.samples.dtype == np.uint16
    assert np.abs((pic.samples >> 8).astype(int) - pil[..., :3]).max() <= 1
    np.testing.assert_array_equal(pic.alpha >> 8, pil[..., 3])
    e = Image.Exif()
    e.load(pic.meta["exif"])
    assert e[0x0112] == 1 and e[315] == "Ann Artist"


def test_16bit_falls_back_to_8_bits_with_a_warning(tmp_path, monkeypatch):
    src = tmp_path / "deep.png"
    cv2.imwrite(str(src), deep_rgb()[..., ::-1])
    monkeypatch.setattr(cv2, "imdecode", lambda *a: None)  # a 16-bit file OpenCV cannot decode
    with pytest.warns(UserWarning, match="read at 8 bits"):
        pic = read_picture(src)
    assert pic.samples.dtype == np.uint8 and pic.samples.shape == (48, 72, 3)


@pytest.mark.parametrize("deep", [False, True])
def test_metadata_that_cannot_be_written_costs_only_itself(tmp_path, deep):
    rgb = deep_rgb() if deep else np.dstack([grey_array(20, 30)] * 3)
    dst = tmp_path / "out.tif"
    with pytest.warns(UserWarning, match="metadata could not be written"):
        write_image(rgb, dst, meta={"exif": b"not exif", "dpi": (300.0, 300.0)})
    assert read16(dst).dtype == rgb.dtype and read16(dst).shape == rgb.shape


def write_source(path, rgb):
    """An 8-bit colour source with an sRGB profile, 300 dpi and EXIF tags (Artist, Make, a date)."""
    # exif as bytes: from an Exif object Pillow's TIFF writer leaves the Exif sub-directory out
    Image.fromarray(rgb).save(path, icc_profile=ICC, dpi=(300, 300), exif=exif().tobytes())
    return path


def check_metadata(path, dpi=True):
    out = Image.open(path)
    assert out.info.get("icc_profile") == ICC
    if dpi:
        assert out.info.get("dpi") == pytest.approx((300, 300), abs=0.01)
    e = out.getexif()
    assert e.get(315) == "Ann Artist" and e.get(271) == "Camera Co"
    assert e.get_ifd(0x8769).get(0x9003) == "2020:01:02 03:04:05"
    assert e.get(0x0112, 1) == 1
    assert not {256, 257, 258, 259, 273, 279} & set(e) or path.suffix == ".tif"  # no TIFF layout tags
    return out


@pytest.mark.parametrize("src_suffix", [".jpg", ".png", ".tif"])
@pytest.mark.parametrize("dst_suffix", [".jpg", ".png", ".tif", ".webp"])
def test_metadata_survives(colorizer, tmp_path, src_suffix, dst_suffix):
    rgb = np.dstack([grey_array(40, 56)] * 3)
    src = write_source(tmp_path / ("src" + src_suffix), rgb)
    dst = tmp_path / ("out" + dst_suffix)
    colorizer.colorize_file(src, dst)
    out = check_metadata(dst, dpi=dst_suffix != ".webp")  # WebP has no resolution
    assert out.size == (56, 40)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_metadata_survives_16_bits(colorizer, tmp_path, suffix):
    src = tmp_path / ("src" + suffix)
    write_image(deep_rgb(), src, meta={"icc_profile": ICC, "dpi": (300.0, 300.0), "exif": exif().tobytes()})
    check_metadata(src)  # what OpenCV wrote, with the metadata added, reads back in Pillow
    dst = tmp_path / ("out" + suffix)
    colorizer.colorize_file(src, dst)
    assert read16(dst).dtype == np.uint16
    check_metadata(dst)


def test_exif_rotated_jpeg_comes_out_upright(colorizer, tmp_path):
    grey = grey_array(30, 60)
    src = tmp_path / "rotated.jpg"
    Image.fromarray(grey).save(src, exif=exif(orientation=6), quality=95)  # turn 90° clockwise on display
    dst = tmp_path / "out.jpg"
    colorizer.colorize_file(src, dst)
    out = Image.open(dst)
    assert out.size == (30, 60) and out.getexif()[0x0112] == 1 and out.getexif()[315] == "Ann Artist"
    upright = np.asarray(ImageOps.exif_transpose(Image.open(src)), np.float32)
    assert np.abs(luminance(np.asarray(out, np.float32)) - upright).mean() < 3


def test_a_tiff_without_resolution_gets_none(colorizer, tmp_path):
    src = tmp_path / "plain.tif"
    Image.fromarray(grey_array(20, 30)).save(src)  # Pillow reads such a TIFF as 1 dpi
    colorizer.colorize_file(src, tmp_path / "out.png")
    assert "dpi" not in Image.open(tmp_path / "out.png").info


def test_no_metadata_for_images_given_in_memory(colorizer, tmp_path):
    dst = tmp_path / "out.jpg"
    colorizer.predict(grey_array(20, 20)).save(dst)
    out = Image.open(dst)
    assert "icc_profile" not in out.info and not out.getexif()


class FullDisk:
    """A file whose writes fail as on a full disk."""

    def __init__(self, path, mode="r", *args, **kwargs):
        self.f = open(path, mode, *args, **kwargs)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()

    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_full_disk_says_so_for_16_bits(run, tmp_path, monkeypatch):
    src = tmp_path / "deep.png"
    cv2.imwrite(str(src), deep_rgb()[..., ::-1])
    monkeypatch.setattr(imageio, "open", FullDisk, raising=False)
    code, err = run(src, "-o", tmp_path / "out.png")
    assert code == 2  # a full disk stops the run: the output cannot take files
    assert f"cannot write {tmp_path / 'out.png'}: {os.strerror(errno.ENOSPC)}" in err, err
    assert "OpenCV" not in err and "Traceback" not in err
    assert not (tmp_path / "out.png").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".colorize-")]  # no temp files left


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_floats_are_refused(colorizer, bad):
    arr = grey_array(20, 30).astype(np.float32) / 255
    arr[3, 4] = bad
    with pytest.raises(ColorizeError, match="NaN or infinite"):
        colorizer.colorize(arr)
    with pytest.raises(ColorizeError, match="NaN or infinite"):
        colorizer.colorize(Image.fromarray(arr, "F"))
    rgba = np.dstack([arr] * 3 + [np.ones_like(arr)]).astype(np.float64)
    with pytest.raises(ColorizeError, match="NaN or infinite"):
        colorizer.colorize(rgba)


def test_pil_float_image_is_taken_as_0_to_1_like_an_array(colorizer):
    arr = grey_array(30, 40).astype(np.float32) / 255
    from_array = colorizer.colorize(arr)
    from_pil = colorizer.colorize(Image.fromarray(arr, "F"))
    assert isinstance(from_pil, Image.Image) and from_pil.mode == "RGB"
    expected = (from_array * 255 + 0.5).astype(np.uint8)
    assert np.abs(np.asarray(from_pil).astype(int) - expected).max() <= 1
    assert np.asarray(from_pil).mean() > 60  # not black
