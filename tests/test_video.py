"""Video: PyAV round trip with audio, the temporal step, the CLI, bad inputs, metrics.

Every clip is generated here with PyAV (real encoded files, no mocks), so nothing needs ../shared.
"""
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")
torch = pytest.importorskip("torch")

from engine import ColorizeError, colorize_video  # noqa: E402
from engine.cli import main as cli_main  # noqa: E402
from engine import Colorizer  # noqa: E402
from engine.video import FrameColorizer  # noqa: E402
from engine.temporal import TemporalConfig, TemporalFilter, flow_to_previous, warp  # noqa: E402
from engine import is_video  # noqa: E402
from engine.videoio import VideoReader, has_video_stream  # noqa: E402


def frame_at(t: int, h: int, w: int) -> np.ndarray:
    """A colourful scene drifting right by 2 px per frame."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    x = x - 2 * t
    rgb = np.stack([128 + 100 * np.sin(x / 7), 128 + 100 * np.cos(y / 5), 128 + 60 * np.sin((x + y) / 11)], -1)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def make_clip(path, frames=12, size=(64, 48), rate=24, audio=False, codec="libx264", pix_fmt="yuv420p",
              pts=None, aspect=None):
    """Encode a short test clip; `pts` (in 1/1000 s) makes the frame rate variable."""
    w, h = size
    with av.open(str(path), "w") as c:
        v = c.add_stream(codec, rate=rate)
        v.width, v.height, v.pix_fmt = w, h, pix_fmt
        if aspect:
            v.codec_context.sample_aspect_ratio = aspect
        if pts is not None:
            v.codec_context.time_base = Fraction(1, 1000)
        a = None
        if audio:
            a = c.add_stream("aac", rate=48000)
            a.layout = "mono"
        for t in range(frames):
            f = av.VideoFrame.from_ndarray(frame_at(t, h, w), format="rgb24")
            if pts is not None:
                f.pts, f.time_base = pts[t], Fraction(1, 1000)
            c.mux(v.encode(f))
        c.mux(v.encode(None))
        if a is not None:
            n = int(48000 * frames / rate)
            tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / 48000)).astype(np.float32)[None]
            for s in range(0, n, 1024):
                af = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone[:, s:s + 1024]), format="fltp", layout="mono")
                af.sample_rate, af.pts = 48000, s
                c.mux(a.encode(af))
            c.mux(a.encode(None))
    return path


def probe(path):
    """(frame count, average rate, size, sample aspect, audio packet payloads, video pts in seconds)."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        info = (v.average_rate, (v.codec_context.width, v.codec_context.height), v.codec_context.sample_aspect_ratio)
        audio = [bytes(p) for p in c.demux(c.streams.audio[0]) if p.size] if c.streams.audio else []
    with av.open(str(path)) as c:
        times = [float(f.pts * f.time_base) for f in c.decode(video=0)]
    return len(times), *info, audio, times


@pytest.fixture(scope="module")
def vcolorizer(weights_dir):
    return Colorizer(weights_dir, backend="onnx")


# --- round trip ----------------------------------------------------------------------------------

def test_round_trip_keeps_frames_rate_size_aspect_and_audio(tmp_path, vcolorizer):
    src = make_clip(tmp_path / "clip.mp4", frames=15, size=(96, 64), rate=25, audio=True, aspect=Fraction(4, 3))
    calls = []
    result = colorize_video(src, tmp_path / "out.mp4", colorizer=vcolorizer, progress=lambda d, t: calls.append((d, t)))
    n_in, rate_in, size_in, sar_in, audio_in, times_in = probe(src)
    n_out, rate_out, size_out, sar_out, audio_out, times_out = probe(tmp_path / "out.mp4")
    assert result.frames == n_out == n_in == 15
    assert size_out == size_in == (96, 64) and sar_out == sar_in == Fraction(4, 3)
    assert abs(float(rate_out) - float(rate_in)) < 0.01
    assert np.allclose(times_out, times_in, atol=1e-3)
    assert audio_in and audio_out == audio_in  # the audio packets, byte for byte
    assert [d for d, _ in calls] == list(range(1, 16)) and calls[-1][1] == 15
    with av.open(str(tmp_path / "out.mp4")) as c:
        out = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    grey_in = np.dot(frame_at(7, 64, 96).astype(np.float32), [0.299, 0.587, 0.114])
    grey_out = np.dot(out[7].astype(np.float32), [0.299, 0.587, 0.114])
    assert np.abs(grey_in - grey_out).mean() < 6  # the luminance survives (H.264 twice)
    assert not list(tmp_path.glob(".colorize-*"))


def test_other_containers_and_codecs(tmp_path, vcolorizer):
    src = make_clip(tmp_path / "clip.avi", frames=6, codec="mpeg4")
    for suffix in (".mkv", ".mov", ".avi"):
        dst = tmp_path / f"out{suffix}"
        colorize_video(src, dst, colorizer=vcolorizer)
        assert probe(dst)[0] == 6
    mkv = make_clip(tmp_path / "a.mkv", frames=5, audio=True)
    colorize_video(mkv, tmp_path / "a-out.mkv", colorizer=vcolorizer)
    assert probe(tmp_path / "a-out.mkv")[4] == probe(mkv)[4]


def test_raw_h264_stream(tmp_path, vcolorizer):
    src = make_clip(tmp_path / "clip.264", frames=8, rate=25)
    result = colorize_video(src, tmp_path / "out.mp4", colorizer=vcolorizer)
    assert result.frames == 8 and probe(tmp_path / "out.mp4")[0] == 8


def test_variable_frame_rate_keeps_timestamps(tmp_path, vcolorizer):
    pts = [0, 40, 80, 200, 230, 400, 440, 700]
    src = make_clip(tmp_path / "vfr.mkv", frames=len(pts), pts=pts, rate=25)
    colorize_video(src, tmp_path / "out.mkv", colorizer=vcolorizer)
    times = probe(tmp_path / "out.mkv")[5]
    assert np.allclose(times, np.array(pts) / 1000, atol=2e-3)


def test_odd_size_and_single_frame(tmp_path, vcolorizer):
    src = make_clip(tmp_path / "odd.mkv", frames=1, size=(33, 17), pix_fmt="yuv444p")
    result = colorize_video(src, tmp_path / "odd-out.mp4", colorizer=vcolorizer)
    n, _, size, *_ = probe(tmp_path / "odd-out.mp4")
    assert result.frames == n == 1 and size == (33, 17)


def test_frame_by_frame_and_temperature(tmp_path, vcolorizer):
    src = make_clip(tmp_path / "clip.mp4", frames=4)
    r = colorize_video(src, tmp_path / "a.mp4", colorizer=vcolorizer, temporal=False, temperature=0.2)
    assert r.frames == 4 and not r.temporal
    with pytest.raises(ColorizeError, match="temperature"):
        colorize_video(src, tmp_path / "b.mp4", colorizer=vcolorizer, temperature=1.5)


def test_video_detected_by_content(tmp_path, grey_photo):
    src = make_clip(tmp_path / "clip.mp4", frames=2)
    disguised = tmp_path / "clip.dat"
    shutil.copy(src, disguised)
    assert has_video_stream(src) and has_video_stream(disguised) and is_video(disguised)
    assert not has_video_stream(grey_photo) and not is_video(grey_photo)
    (tmp_path / "text.mp4").write_text("hello")
    assert not has_video_stream(tmp_path / "text.mp4")
    assert is_video(tmp_path / "text.mp4")  # named like a video: it gets the video pipeline's error


# --- the temporal step -------------------------------------------------------------------------

def distributions(h: int, w: int, peak: int, n: int = 16, spread: float = 2.0) -> np.ndarray:
    """(h, w, n): the same distribution over n bins at every pixel, peaked at bin `peak`."""
    p = np.exp(-0.5 * ((np.arange(n) - peak) / spread) ** 2).astype(np.float32)
    return np.broadcast_to(p / p.sum(), (h, w, n)).copy()


def test_a_still_scene_keeps_its_own_distribution():
    """No fading: where every frame says the same, the average is exactly that."""
    f, y, p = TemporalFilter(), np.tile(np.linspace(0, 1, 32, dtype=np.float32), (24, 1)), distributions(24, 32, 5)
    for _ in range(20):
        out = f(y, p)
    assert np.abs(out - p).max() < 1e-5


def test_flicker_is_smoothed_but_a_lasting_change_is_followed():
    y = np.tile(np.linspace(0, 1, 32, dtype=np.float32), (24, 1))
    a, b = distributions(24, 32, 5), distributions(24, 32, 7)  # overlapping guesses, as a network's are
    f = TemporalFilter()
    f(y, a)
    flicker = f(y, b)  # one frame disagrees: the output stays between, nearer the past
    assert np.abs(flicker - a).mean() < np.abs(flicker - b).mean()
    for _ in range(40):  # the new guess lasts: the past is forgotten (memory 0.9 per frame at most)
        out = f(y, b)
    assert np.abs(out - b).max() < 0.02 * b.max()


def test_new_content_and_scene_cuts_take_the_current_frame():
    ramp = np.tile(np.linspace(0, 1, 32, dtype=np.float32), (24, 1))
    a, b = distributions(24, 32, 5), distributions(24, 32, 7)
    f = TemporalFilter()
    f(ramp, a)
    patch = ramp.copy()
    patch[8:16, 8:16] = 1 - patch[8:16, 8:16]  # something new appears (its luminance does not match)
    out = f(patch, b)
    new = (slice(10, 14), slice(10, 14))
    assert np.abs(out[new] - b[new]).mean() < 0.2 * np.abs(a - b).mean()  # it gets its own colour
    assert np.abs(out[20:, 24:] - b[20:, 24:]).mean() > 0.1 * np.abs(a - b).mean()  # the rest keeps some past
    cut = TemporalFilter(TemporalConfig())
    cut(ramp, a)
    assert np.array_equal(cut(1 - ramp, b), b)  # a different picture: the history is dropped


def test_temporal_video_is_steadier_and_does_not_fade(tmp_path):
    """The shipped model on a pan across a real photo: less colour flicker than frame by frame, and
    colour strength over time (last third / first third) within 15% of frame by frame's (measured
    1.06; the learned colour blend this replaced gave 1.18 here, and faded on real clips)."""
    from PIL import Image

    from engine.color import rgb_to_yuv
    from training.video_metrics import InputFlow, WarpingError

    photo = np.asarray(Image.open(sorted((Path(__file__).parents[1] / "examples").glob("*.jpg"))[0]).convert("RGB"))
    h, w = 120, 160
    frames = [photo[20:20 + h, 5 * t:5 * t + w] for t in range(60)]  # the camera pans right
    colorizer = Colorizer(backend="onnx")
    outputs = {}
    for temporal in (True, False):
        fc, flow, werr = FrameColorizer(colorizer, temporal=temporal), InputFlow(), WarpingError()
        strength = []
        for frame in frames:
            rgb = fc(frame)
            werr.add(rgb, flow(np.dot(frame.astype(np.float32), [0.299, 0.587, 0.114]).astype(np.uint8)))
            strength.append(np.hypot(*np.moveaxis(rgb_to_yuv(rgb / 255.0)[..., 1:], -1, 0)).mean())
        outputs[temporal] = werr.value, np.mean(strength[-20:]) / np.mean(strength[:20])
    (steady, fade), (flicker, own_fade) = outputs[True], outputs[False]
    assert steady < 0.7 * flicker
    assert abs(fade / own_fade - 1) < 0.15


def test_flow_and_warp_follow_a_shift():
    y = np.dot(frame_at(0, 48, 64).astype(np.float32), [0.299, 0.587, 0.114]).astype(np.uint8)
    shifted = np.roll(y, 2, axis=1)  # content moved right by 2 px
    flow = flow_to_previous(shifted, y)
    assert abs(np.median(flow[..., 0]) + 2) < 0.5 and abs(np.median(flow[..., 1])) < 0.5
    back = warp(y.astype(np.float32), flow)
    assert np.abs(back - shifted)[8:-8, 8:-8].mean() < 6


# --- bad inputs --------------------------------------------------------------------------------

def bad(tmp_path, vcolorizer, src, match):
    dst = tmp_path / "bad-out.mp4"
    with pytest.raises(ColorizeError, match=match) as e:
        colorize_video(src, dst, colorizer=vcolorizer)
    assert "\n" not in str(e.value)
    assert not dst.exists() and not list(tmp_path.glob(".colorize-*"))


def test_not_a_video(tmp_path, vcolorizer):
    (tmp_path / "notes.mp4").write_text("not a video at all\n" * 20)
    bad(tmp_path, vcolorizer, tmp_path / "notes.mp4", "not a video")


def test_empty_and_missing_files(tmp_path, vcolorizer):
    (tmp_path / "empty.mp4").write_bytes(b"")
    bad(tmp_path, vcolorizer, tmp_path / "empty.mp4", "empty file")
    bad(tmp_path, vcolorizer, tmp_path / "missing.mp4", "no such file")


def test_no_video_stream(tmp_path, vcolorizer):
    path = tmp_path / "sound.m4a"
    with av.open(str(path), "w") as c:
        a = c.add_stream("aac", rate=48000)
        a.layout = "mono"
        for s in range(0, 48000, 1024):
            f = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            f.sample_rate, f.pts = 48000, s
            c.mux(a.encode(f))
        c.mux(a.encode(None))
    bad(tmp_path, vcolorizer, path, "no video stream .only audio")


def test_video_stream_without_frames(tmp_path, vcolorizer):
    path = tmp_path / "zero.avi"
    with av.open(str(path), "w") as c:
        v = c.add_stream("mpeg4", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        c.start_encoding()  # the header, and no frame
    bad(tmp_path, vcolorizer, path, "no frames")


def test_truncated_mp4(tmp_path, vcolorizer):
    src = make_clip(tmp_path / "clip.mp4", frames=10)
    data = src.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[:len(data) // 2])  # the index (moov) is at the end
    bad(tmp_path, vcolorizer, tmp_path / "cut.mp4", "not a video|cannot read")


def test_corrupt_frames_midway_are_skipped_or_stop_cleanly(tmp_path, vcolorizer):
    src = make_clip(tmp_path / "clip.mkv", frames=30, size=(96, 64))
    data = bytearray(src.read_bytes())
    rng = np.random.default_rng(0)
    mid = len(data) // 2
    data[mid:mid + 3000] = rng.integers(0, 256, 3000, dtype=np.uint8).tobytes()
    (tmp_path / "corrupt.mkv").write_bytes(bytes(data))
    try:
        result = colorize_video(tmp_path / "corrupt.mkv", tmp_path / "out.mp4", colorizer=vcolorizer)
    except ColorizeError as e:  # stopping is allowed, with one line
        assert "\n" not in str(e)
        assert not (tmp_path / "out.mp4").exists()
    else:
        assert 0 < result.frames <= 30 and probe(tmp_path / "out.mp4")[0] == result.frames
        if result.frames < 30:  # frames were lost: the user is told
            assert result.skipped or "ended early" in result.warning


def test_output_is_never_the_input(tmp_path, vcolorizer):
    src = make_clip(tmp_path / "clip.mp4", frames=2)
    before = src.read_bytes()
    with pytest.raises(ColorizeError, match="is the input"):
        colorize_video(src, src, colorizer=vcolorizer)
    assert src.read_bytes() == before


def test_unwritable_output_folder(tmp_path, vcolorizer):
    src = make_clip(tmp_path / "clip.mp4", frames=2)
    with pytest.raises(ColorizeError, match="output folder does not exist"):
        colorize_video(src, tmp_path / "nope" / "out.mp4", colorizer=vcolorizer)


def test_reader_streams_frames(tmp_path):
    src = make_clip(tmp_path / "clip.mp4", frames=5, audio=True)
    with VideoReader(src) as r:
        assert (r.info.width, r.info.height, r.info.has_audio) == (64, 48, True)
        kinds = [item[0] for item in r.items()]
    assert kinds.count("video") == 5 and "audio" in kinds


# --- command line ------------------------------------------------------------------------------

def test_cli_single_video_and_batch(tmp_path, weights_dir, grey_photo, capsys):
    a = make_clip(tmp_path / "a.mp4", frames=3, audio=True)
    b = make_clip(tmp_path / "b.avi", frames=2, codec="mpeg4")
    assert cli_main([str(a), "-o", str(tmp_path / "single.mp4"), "--weights", str(weights_dir),
                     "--temperature", "0.3"]) == 0
    assert probe(tmp_path / "single.mp4")[0] == 3
    out = tmp_path / "out"
    assert cli_main([str(a), str(b), str(grey_photo), "-o", str(out), "--weights", str(weights_dir)]) == 0
    assert probe(out / "a.mp4")[0] == 3 and probe(out / "b.avi")[0] == 2 and (out / "grey.jpg").is_file()
    assert cli_main([str(a), "-o", str(out), "--weights", str(weights_dir), "--frame-by-frame"]) == 0
    assert "exists, kept" in capsys.readouterr().err


def test_cli_folder_finds_videos(tmp_path, weights_dir):
    (tmp_path / "in").mkdir()
    make_clip(tmp_path / "in" / "c.mkv", frames=2)
    assert cli_main([str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--weights", str(weights_dir)]) == 0
    assert probe(tmp_path / "out" / "c.mkv")[0] == 2


def test_cli_bad_video_is_one_line_without_traceback(tmp_path, weights_dir):
    (tmp_path / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100)
    r = subprocess.run([sys.executable, "-m", "engine.cli", str(tmp_path / "broken.mp4"), "-o",
                        str(tmp_path / "o.mp4"), "--weights", str(weights_dir)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    (line,) = [x for x in r.stderr.splitlines() if "broken.mp4" in x]
    assert "not a video" in line


# --- metrics -----------------------------------------------------------------------------------

def test_metrics_on_static_and_flickering_clips():
    from training.video_metrics import CDC, InputFlow, WarpingError, js_divergence

    flow, static, flicker = InputFlow(), (WarpingError(), CDC()), (WarpingError(), CDC())
    base = frame_at(0, 48, 64)
    for t in range(6):
        fm = flow(np.dot(base.astype(np.float32), [0.299, 0.587, 0.114]).astype(np.uint8))
        static[0].add(base, fm)
        static[1].add(base)
        swapped = base[..., ::-1].copy() if t % 2 else base  # colours flip every frame
        flicker[0].add(swapped, fm)
        flicker[1].add(swapped)
    assert static[0].value < 1e-6 and static[1].value < 1e-9
    assert flicker[0].value > 0.01 and flicker[1].value > 0.001
    p = np.array([0.5, 0.5, 0.0])
    assert js_divergence(p, p) == 0 and abs(js_divergence(p, np.array([0, 0, 1.0])) - 1) < 1e-9


def test_cancel_from_progress_leaves_nothing(tmp_path, vcolorizer):
    src = make_clip(tmp_path / "clip.mp4", frames=20)

    class Stop(Exception):
        pass

    def progress(done, total):
        if done == 5:
            raise Stop

    with pytest.raises(Stop):
        colorize_video(src, tmp_path / "out.mp4", colorizer=vcolorizer, progress=progress)
    assert not (tmp_path / "out.mp4").exists() and not list(tmp_path.glob(".colorize-*"))


def test_cli_video_with_an_image_output_name_is_one_line(tmp_path, weights_dir, capsys):
    src = make_clip(tmp_path / "clip.mp4", frames=2)
    # an impossible output name is a bad command line: 2
    assert cli_main([str(src), "-o", str(tmp_path / "out.png"), "--weights", str(weights_dir)]) == 2
    err = capsys.readouterr().err
    assert "a video cannot be written as .png" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]  # no output, no 0-byte temp


def test_cli_a_video_that_ends_early_exits_non_zero_and_keeps_its_frames(tmp_path, weights_dir, capsys):
    src = make_clip(tmp_path / "clip.mkv", frames=96, size=(96, 64))  # 4 s; Matroska stores the duration up front
    data = src.read_bytes()
    (tmp_path / "cut.mkv").write_bytes(data[:len(data) // 2])
    out = tmp_path / "out.mkv"
    assert cli_main([str(tmp_path / "cut.mkv"), "-o", str(out), "--weights", str(weights_dir)]) == 1
    err = capsys.readouterr().err
    assert "ended early" in err and "wrote the" in err
    assert 0 < probe(out)[0] < 96


def test_a_full_disk_is_not_blamed_on_the_container(tmp_path):
    import errno

    from engine.videoio import VideoInfo, VideoWriter

    info = VideoInfo(64, 48, Fraction(24), 2, Fraction(0), "h264", False, 0.1)
    for name in ("out.mkv", "out.mp4"):
        writer = VideoWriter(tmp_path / name, info)

        class FullDisk:  # the real container, except that writing fails as on a full disk
            def __init__(self, real):
                self.real = real

            def __getattr__(self, name):
                return getattr(self.real, name)

            def mux(self, packets):
                raise av.error.FFmpegError(errno.ENOSPC, "No space left on device")
        writer.container = FullDisk(writer.container)
        with pytest.raises(ColorizeError) as e:
            writer.write(frame_at(0, 48, 64), 0.0)
            writer.finish()
        writer.abort()
        assert "No space left on device" in str(e.value) and ".mkv" not in str(e.value).replace(name, "")
    assert not list(tmp_path.iterdir())


def test_weights_with_the_old_learned_video_step_still_load(tmp_path, weights_dir):
    """Folders from before the parameter-free step keep a 'temporal' section and files: ignored."""
    import json

    root = tmp_path / "old"
    shutil.copytree(weights_dir, root)
    meta = json.loads((root / "model.json").read_text())
    meta["temporal"] = {"config": {"window": 3, "width": 24}}
    (root / "model.json").write_text(json.dumps(meta))
    (root / "temporal.onnx").write_bytes(b"not used any more")
    src = make_clip(tmp_path / "clip.mp4", frames=3)
    assert colorize_video(src, tmp_path / "out.mp4", colorizer=Colorizer(root, backend="onnx")).frames == 3
