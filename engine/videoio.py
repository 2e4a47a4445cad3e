"""Video files in and out with PyAV, one frame at a time: decode any container FFmpeg reads,
encode H.264 (or VP9 for .webm) with the source's timing, size and pixel aspect, and copy the
audio packets untouched. Every failure becomes one `ColorizeError` line; outputs are atomic.
"""
from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .errors import ColorizeError, write_error
from .media import VIDEO_SUFFIXES, AtomicFile, atomic_output, check_input_file

# FFmpeg also "demuxes" still images and GIFs; those belong to the photo pipeline.
_IMAGE_DEMUXERS = ("image2", "_pipe", "gif", "apng", "webp", "png", "bmp", "tiff")
MAX_BAD_PACKETS = 50   # consecutive undecodable packets after which the file is given up on
CRF = 18               # x264 quality: visually transparent for colorized footage
PRESET = "veryfast"    # x264 speed: encoding must not dominate a 25 fps budget on 2 cores


def _av():
    try:
        import av
    except ImportError:
        raise ColorizeError("video needs PyAV: pip install 'colorize[video]'") from None
    # No Python log callback at all: FFmpeg's chatter is not the user's business, and with the
    # callback installed a decoder thread that logs needs the GIL while closing a stream holds it
    # and waits for that thread (a deadlock seen when a preview stops after the first frame).
    av.logging.set_level(None)
    return av


def _why(e: Exception) -> str:
    """FFmpeg's reason, without PyAV's errno prefix and the file name it repeats."""
    text = getattr(e, "strerror", None) or str(e)
    return str(text).splitlines()[0][:160]


@dataclass
class VideoInfo:
    width: int
    height: int
    rate: Fraction          # nominal frame rate (average for variable-rate files)
    frames: int             # frame count from the container, or an estimate; 0 if unknown
    aspect: Fraction        # sample (pixel) aspect ratio; 0 when unknown
    codec: str
    has_audio: bool
    duration: float         # seconds, from the container; 0 if unknown


def is_video(path: str | os.PathLike) -> bool:
    """True for files that go to the video pipeline: a video suffix, or (for other names) a
    regular file in which FFmpeg finds a moving-picture stream. Never opens a pipe or device."""
    path = Path(path)
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return True
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return False
    except OSError:
        return False
    return has_video_stream(path)


def has_video_stream(path: str | os.PathLike) -> bool:
    """True when FFmpeg finds a video stream that is not a still image or GIF (decided by content)."""
    try:
        av = _av()
        with av.open(str(path)) as c:
            return bool(c.streams.video) and not any(n in c.format.name for n in _IMAGE_DEMUXERS)
    except Exception:  # noqa: BLE001 -- anything FFmpeg cannot open is simply not a video
        return False


class VideoReader:
    """Iterate a video's decoded frames (as RGB arrays) and its audio packets, in file order."""

    def __init__(self, path: str | os.PathLike):
        av = _av()
        self.path = Path(path)
        try:
            check_input_file(self.path, "a video")
            self.container = av.open(str(self.path), metadata_errors="ignore")
        except ColorizeError:
            raise
        except FileNotFoundError:
            raise ColorizeError("no such file") from None
        except PermissionError:
            raise ColorizeError("permission denied") from None
        except Exception as e:  # noqa: BLE001 -- FFmpeg's many error types all mean "cannot read"
            raise ColorizeError(f"not a video, or a format FFmpeg cannot read ({_why(e)})") from None
        if not self.container.streams.video:
            kinds = sorted({s.type for s in self.container.streams})
            self.close()
            raise ColorizeError("no video stream" + (f" (only {', '.join(kinds)})" if kinds else ""))
        self.video = self.container.streams.video[0]
        self.video.thread_type = "AUTO"  # frame threads: decoding is a few percent of the work
        # Apply the stream's cropping window exactly: by default FFmpeg rounds a left crop down
        # to keep rows memory-aligned, so an H.264 stream cropped by 26 columns decodes 326 wide
        # while the stream says 300, and the picture would be squeezed into the wrong frame.
        self.video.codec_context.flags |= av.codec.context.Flags.unaligned
        self.audio = self.container.streams.audio[0] if self.container.streams.audio else None
        ctx = self.video.codec_context
        if not ctx.width or not ctx.height:
            self.close()
            raise ColorizeError("video stream has no frame size (corrupt header)")
        rate = self.video.average_rate or self.video.guessed_rate or Fraction(25)
        frames = self.video.frames
        if not frames and self.video.duration and self.video.time_base:
            frames = round(float(self.video.duration * self.video.time_base * rate))
        elif not frames and self.container.duration:
            frames = round(self.container.duration / 1_000_000 * float(rate))
        duration = float(self.video.duration * self.video.time_base) if self.video.duration and \
            self.video.time_base else (self.container.duration or 0) / 1_000_000
        self.info = VideoInfo(ctx.width, ctx.height, Fraction(rate), int(frames or 0),
                              Fraction(ctx.sample_aspect_ratio or 0), ctx.name, self.audio is not None, duration)
        self.skipped = 0         # undecodable packets that were skipped
        self.last_seconds = 0.0  # time of the last decoded frame

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self.container.close()

    def items(self):
        """Yield ("video", pts_seconds, rgb uint8 (H, W, 3)) and ("audio", packet), in file order."""
        av = _av()
        streams = [s for s in (self.video, self.audio) if s is not None]
        bad_run, index = 0, 0
        try:
            for packet in self.container.demux(streams):
                if packet.stream is self.audio:
                    if packet.dts is not None:  # the demuxer's end-of-stream marker has none
                        yield "audio", packet
                    continue
                try:
                    frames = packet.decode()
                    bad_run = 0
                except av.FFmpegError:
                    # a corrupt packet midway: skip it, but never loop forever on a broken file
                    self.skipped += 1
                    bad_run += 1
                    if bad_run > MAX_BAD_PACKETS:
                        raise ColorizeError(f"stopped after {MAX_BAD_PACKETS} consecutive corrupt "
                                            f"video packets (frame {index})") from None
                    continue
                for frame in frames:
                    self.last_seconds = self._seconds(frame, index)
                    yield "video", self.last_seconds, frame.to_ndarray(format="rgb24")
                    index += 1
        except ColorizeError:
            raise
        except av.FFmpegError as e:  # the demuxer itself gave up (truncated file...)
            if index == 0:
                raise ColorizeError(f"cannot read video data ({_why(e)})") from None
            self.skipped += 1  # keep what was decoded; the caller reports the shortfall

    def shortfall(self) -> str | None:
        """A warning when decoding ended well before the container's duration (corrupt or cut file)."""
        d = self.info.duration
        if d and self.last_seconds + 3 / float(self.info.rate) < 0.95 * d:
            return f"the video ended early, at {self.last_seconds:.1f} s of {d:.1f} s (corrupt or truncated file)"
        return None

    def _seconds(self, frame, index: int) -> float:
        """Presentation time of a frame in seconds; files without timestamps get a regular grid."""
        if frame.pts is None or frame.time_base is None:
            return index / float(self.info.rate)
        return float(frame.pts * frame.time_base)


class VideoWriter:
    """Encode RGB frames (and copy audio packets) to a temporary file, renamed over dst on success."""

    def __init__(self, dst: str | os.PathLike, info: VideoInfo, audio_stream=None, overwrite: bool = True):
        av = _av()
        self.dst = Path(dst)
        self.file = AtomicFile(self.dst, overwrite)
        self.tmp = self.file.path
        self.info, self.frames, self.last_pts = info, 0, -1
        try:
            self.container = av.open(self.tmp, "w")
        except Exception as e:  # noqa: BLE001 -- an unknown extension is FFmpeg's ValueError or FFmpegError
            self.file.discard()
            raise ColorizeError(f"cannot write {self.dst.suffix or 'files without an extension'} "
                                f"video ({_why(e)}); use .mp4, .mkv, .mov or .avi") from None
        try:
            self._add_video()
            self.audio = self._add_audio(audio_stream) if audio_stream is not None else None
        except ColorizeError:
            self.abort()
            raise

    def _add_video(self) -> None:
        webm = self.dst.suffix.lower() == ".webm"
        codec = "libvpx-vp9" if webm else "libx264"
        # Timestamps are written in microseconds so variable frame rates survive exactly enough.
        self.time_base = Fraction(1, 1_000_000) if not webm else Fraction(1, 1000)
        s = self.container.add_stream(codec, rate=self.info.rate)
        s.width, s.height = self.info.width, self.info.height
        # 4:2:0 needs even sizes; odd-sized frames keep every pixel with 4:4:4 chroma instead
        even = self.info.width % 2 == 0 and self.info.height % 2 == 0
        s.pix_fmt = "yuv420p" if even else "yuv444p"
        s.codec_context.time_base = self.time_base
        if self.info.aspect:
            s.codec_context.sample_aspect_ratio = self.info.aspect
        s.options = {"crf": str(CRF), "preset": PRESET} if not webm else {"crf": "30", "b": "0"}
        self.stream = s

    def _add_audio(self, template):
        try:
            return self.container.add_stream_from_template(template)
        except Exception as e:  # noqa: BLE001
            hint = "; try -o with .mkv" if self.dst.suffix.lower() != ".mkv" else ""
            raise ColorizeError(f"cannot copy the audio ({template.codec_context.name}) into "
                                f"{self.dst.suffix}: {_why(e)}{hint}") from None

    def write(self, rgb: np.ndarray, seconds: float) -> None:
        """Encode one frame shown at `seconds` (frames that would not move time forward are nudged)."""
        av = _av()
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        pts = max(round(seconds / self.time_base), self.last_pts + 1)
        frame.pts, frame.time_base, self.last_pts = pts, self.time_base, pts
        self._mux(self.stream.encode(frame))
        self.frames += 1

    def copy(self, packet) -> None:
        """Mux one audio packet from the source unchanged."""
        if self.audio is None:
            return
        packet.stream = self.audio
        self._mux([packet])

    def _mux(self, packets) -> None:
        av = _av()
        try:
            self.container.mux(packets)
        except av.FFmpegError as e:
            # a full disk or a broken pipe is not the container's fault: no advice then
            hint = ("; if the audio cannot go in this container, try -o with .mkv"
                    if self.audio is not None and self.dst.suffix.lower() != ".mkv"
                    and getattr(e, "errno", None) not in (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EPIPE) else "")
            raise write_error(f"cannot write {self.dst} ({_why(e)}){hint}", e) from None

    def finish(self) -> None:
        """Flush the encoder, close the file and move it into place."""
        av = _av()
        try:
            self._mux(self.stream.encode(None))
            self.container.close()
            self.file.commit()
        except av.FFmpegError as e:
            self.abort()
            raise write_error(f"cannot write {self.dst} ({_why(e)})", e) from None
        except OSError as e:
            self.abort()
            raise write_error(f"cannot write {self.dst}: {e.strerror or e}", e) from None
        except ColorizeError:
            self.abort()
            raise

    def abort(self) -> None:
        """Close and delete the temporary file; dst is left as it was."""
        try:
            self.container.close()
        except Exception:  # noqa: BLE001 -- closing a half-written file may fail; we delete it anyway
            pass
        self.file.discard()


def first_frame(path: str | os.PathLike) -> np.ndarray:
    """The first decodable frame of a video, RGB uint8 (H, W, 3): a preview or thumbnail."""
    with VideoReader(path) as reader:
        for item in reader.items():
            if item[0] == "video":
                return item[2]
    raise ColorizeError("video has no frames that could be decoded")


def copy_video(src: str | os.PathLike, dst: str | os.PathLike, overwrite: bool = True) -> None:
    """Write a finished video as dst: copied when the containers match, else its streams remuxed
    into dst's container, never re-encoded; atomically, like every output."""
    import shutil

    av = _av()
    src, dst = Path(src), Path(dst)
    try:
        with atomic_output(dst, overwrite) as tmp:
            if src.suffix.lower() == dst.suffix.lower():
                shutil.copyfile(src, tmp)
                return
            with av.open(str(src)) as inp, av.open(tmp, "w") as out:
                streams = {s.index: out.add_stream_from_template(s) for s in inp.streams
                           if s.type in ("video", "audio")}
                for packet in inp.demux(*[inp.streams[i] for i in streams]):
                    if packet.dts is not None:
                        packet.stream = streams[packet.stream.index]
                        out.mux(packet)
    except av.FFmpegError as e:
        raise write_error(f"cannot write {dst} ({_why(e)})", e) from None
    except OSError as e:
        raise write_error(f"cannot write {dst}: {e.strerror or e}", e) from None
