"""Decoding: an H.264 stream's cropping window is applied exactly, not rounded for alignment.

Conformance streams such as CVFC1_Sony_C.jsv crop the left edge of the coded picture by a number
of columns that breaks FFmpeg's memory alignment; by default FFmpeg then crops less on the left
(326 columns instead of 300 here) and the colorizer used to squeeze that wider picture into the
300-wide frame the stream declares. The stream is built here: x264 encodes a wider picture and
FFmpeg's h264_metadata bitstream filter rewrites its SPS cropping window (a real stream, no mocks).
"""
import numpy as np
import pytest

av = pytest.importorskip("av")
pytest.importorskip("torch")
import av.bitstream  # noqa: E402

from engine import colorize_video, first_frame  # noqa: E402
from engine.videoio import VideoReader  # noqa: E402

CODED_W, CODED_H = 326, 176     # the encoded picture (x264 codes 336x176 and crops 10 on the right)
LEFT, TOP, RIGHT, BOTTOM = 26, 4, 10, 4  # the cropping window written into the SPS
WIDTH, HEIGHT = 300, 168        # what the stream shows: 336 - 26 - 10, 176 - 4 - 4
FRAMES = 4
GREY = np.array([0.299, 0.587, 0.114], np.float32)


def picture(t: int) -> np.ndarray:
    """Stripes 10 px wide with a ramp: any shift or squeeze of columns moves them visibly."""
    x = np.arange(CODED_W)
    col = np.stack([(x * 7 + t * 5) % 256, (x * 3) % 256, 255 - (x * 5) % 256], -1)
    col = np.where(((x // 10) % 2 == 0)[:, None], col, 255 - col)
    img = np.broadcast_to(col[None], (CODED_H, CODED_W, 3)).astype(np.int64)
    img[:, :, 1] = (img[:, :, 1] + np.arange(CODED_H)[:, None]) % 256  # rows differ too
    return img.astype(np.uint8)


def shown(t: int) -> np.ndarray:
    """The part of picture(t) inside the cropping window."""
    return picture(t)[TOP:TOP + HEIGHT, LEFT:LEFT + WIDTH]


@pytest.fixture(scope="module")
def cropped_stream(tmp_path_factory):
    """A raw H.264 (Annex B) stream of FRAMES frames whose SPS crops 26 columns on the left."""
    if "h264_metadata" not in av.bitstream.bitstream_filters_available:
        pytest.skip("this FFmpeg has no h264_metadata bitstream filter")
    root = tmp_path_factory.mktemp("cropped")
    raw, dst = root / "raw.h264", root / "cropped.264"
    with av.open(str(raw), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = CODED_W, CODED_H, "yuv420p"
        s.options = {"crf": "8", "preset": "ultrafast"}
        for t in range(FRAMES):
            c.mux(s.encode(av.VideoFrame.from_ndarray(picture(t), format="rgb24")))
        c.mux(s.encode(None))
    crop = f"h264_metadata=crop_left={LEFT}:crop_right={RIGHT}:crop_top={TOP}:crop_bottom={BOTTOM}"
    with av.open(str(raw)) as inp, open(dst, "wb") as out:
        bsf = av.bitstream.BitStreamFilterContext(crop, inp.streams.video[0])
        for packet in inp.demux(inp.streams.video[0]):
            for p in bsf.filter(packet if packet.size else None):  # the last, empty packet flushes
                out.write(bytes(p))
    return dst


def test_reader_applies_the_exact_cropping_window(cropped_stream):
    with VideoReader(cropped_stream) as reader:
        assert (reader.info.width, reader.info.height) == (WIDTH, HEIGHT)
        frames = [item[2] for item in reader.items() if item[0] == "video"]
    assert len(frames) == FRAMES
    for t, rgb in enumerate(frames):
        assert rgb.shape == (HEIGHT, WIDTH, 3)  # not 326 wide
        # the same columns as encoded (4:2:0 chroma and x264 blur the colours a little)
        assert np.abs(rgb.astype(np.float32) - shown(t)).mean() < 10
        assert np.abs((rgb.astype(np.float32) - shown(t)) @ GREY).mean() < 3
    assert np.array_equal(first_frame(cropped_stream), frames[0])


def test_colorized_video_keeps_the_cropped_picture(cropped_stream, colorizer, tmp_path):
    dst = tmp_path / "out.mp4"
    result = colorize_video(cropped_stream, dst, colorizer=colorizer, temporal=False)
    assert result.frames == FRAMES
    with av.open(str(dst)) as c:
        ctx = c.streams.video[0].codec_context
        assert (ctx.width, ctx.height) == (WIDTH, HEIGHT)
        out = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(out) == FRAMES and out[0].shape == (HEIGHT, WIDTH, 3)
    for t, rgb in enumerate(out):
        # the colours are the model's, the luminance is the source's, column for column
        assert np.abs(rgb.astype(np.float32) @ GREY - shown(t).astype(np.float32) @ GREY).mean() < 6
