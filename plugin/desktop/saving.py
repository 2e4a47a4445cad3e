"""Saving results: formats, output names, the Save All dialog, and the Save / Save As / Save All flows.

What can be written is the engine's rule (IMAGE_WRITE, VIDEO_WRITE, output_path); the short menus
below are only what the dialogs offer first."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from PyQt5.QtCore import QSettings, QStandardPaths
from PyQt5.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                             QInputDialog, QLineEdit, QMessageBox, QPushButton, QSpinBox, QWidget)

from engine import IMAGE_WRITE, VIDEO_WRITE, free_name, output_key, output_path

from .items import Item, State
from .jobs import SaveJob
from .session import Session, path_key
from .sidecar import sidecar_of

# What Save As and Save All offer (the engine also writes BMP, which is no use for photos)
FORMATS = {"PNG": ".png", "JPEG": ".jpg", "TIFF": ".tif", "WebP": ".webp"}
SAVE_FILTERS = {"PNG image (*.png)": ".png", "JPEG image (*.jpg *.jpeg)": ".jpg",
                "TIFF image (*.tif *.tiff)": ".tif", "WebP image (*.webp)": ".webp"}
SAME_AS_ORIGINAL = ""      # Save All format meaning "the original's format when it can be written"
# What a video is saved as (Save All keeps the video's container, or MP4; image formats never apply)
VIDEO_FORMATS = {"MP4": ".mp4", "Matroska": ".mkv", "QuickTime": ".mov"}
VIDEO_FILTERS = {"MP4 video (*.mp4)": ".mp4", "Matroska video (*.mkv)": ".mkv", "QuickTime video (*.mov)": ".mov"}


def has_quality(suffix: str) -> bool:
    """True for the formats that take a quality setting (lossy JPEG and WebP)."""
    return suffix.lower() in (".jpg", ".jpeg", ".webp")


def output_suffix(item: Item, suffix: str) -> str:
    """The suffix to write: the chosen one, or the original's when the engine can write it (else
    PNG); a video keeps its own container (else MP4) whatever image format is chosen."""
    if suffix and not item.is_video:
        return suffix
    return output_path(Path(item.path.name), Path(), single_file=False, video=item.is_video).suffix


def default_name(item: Item, suffix: str) -> str:
    """Save As's proposal: old.jpg -> old-colour.png (a name that cannot be the original's)."""
    return f"{item.path.stem}-colour{output_suffix(item, suffix)}"


def with_filter_suffix(path: str, chosen_filter: str) -> Path:
    """The path typed in a save dialog, given the filter's suffix when it has no known one."""
    p = Path(path)
    if chosen_filter in VIDEO_FILTERS:
        return p if p.suffix.lower() in VIDEO_WRITE else p.with_name(p.name + VIDEO_FILTERS[chosen_filter])
    if p.suffix.lower() in IMAGE_WRITE:
        return p
    return p.with_name(p.name + SAVE_FILTERS.get(chosen_filter, ".png"))


def plan_outputs(items: list[Item], folder: Path, suffix: str) -> list[Path]:
    """Save All's names: same name as each original, in folder; clashes get -2, -3... (the engine's
    "rename" rule, as `colorize` plans with it)."""
    taken, out = set(), []
    for item in items:
        dst = free_name(folder / f"{item.path.stem}{output_suffix(item, suffix)}", taken)
        taken.add(output_key(dst))
        out.append(dst)
    return out


def remembered_folder(settings: QSettings, key: str, fallback: Path | None = None) -> str:
    """A remembered folder if it still exists, else fallback, else the user's Pictures folder."""
    folder = str(settings.value(key, "") or "")
    if folder and Path(folder).is_dir():
        return folder
    if fallback is not None:
        return str(fallback)
    return QStandardPaths.writableLocation(QStandardPaths.PicturesLocation) or str(Path.home())


class SaveAllDialog(QDialog):
    """Ask for Save All's folder, format and quality."""

    def __init__(self, parent: QWidget | None, folder: str, suffix: str, quality: int):
        super().__init__(parent)
        self.setWindowTitle("Save All")
        self.folder_edit = QLineEdit(folder)
        self.folder_edit.setMinimumWidth(360)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder_edit)
        row.addWidget(browse)
        self.format_box = QComboBox()
        self.format_box.addItem("Same as original", SAME_AS_ORIGINAL)
        for name, ext in FORMATS.items():
            self.format_box.addItem(name, ext)
        self.format_box.setCurrentIndex(max(0, self.format_box.findData(suffix)))
        self.quality_box = QSpinBox()
        self.quality_box.setRange(1, 100)
        self.quality_box.setValue(quality)
        self.quality_box.setToolTip("JPEG and WebP quality (100 = best, largest files)")
        self.format_box.currentIndexChanged.connect(self._update)
        buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Folder:", row)
        form.addRow("Format:", self.format_box)
        form.addRow("Quality:", self.quality_box)
        form.addRow(buttons)
        self._update()

    def _browse(self):
        folder = QFileDialog.getExistingDirectory(self, "Save all into folder", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def _update(self):
        # "Same as original" may give JPEGs too, so quality stays available for it
        self.quality_box.setEnabled(self.suffix() == SAME_AS_ORIGINAL or has_quality(self.suffix()))

    def folder(self) -> Path:
        """The chosen folder."""
        return Path(self.folder_edit.text()).expanduser()

    def suffix(self) -> str:
        """The chosen suffix, or SAME_AS_ORIGINAL."""
        return self.format_box.currentData()

    def quality(self) -> int:
        """The chosen JPEG/WebP quality."""
        return self.quality_box.value()


class Saver:
    """Save, Save As and Save All: asks where, never replaces an original unasked, remembers
    folders, format and quality, and queues the writing (the worker renders each item at its own
    vividness). It works through what it is given, never through the window's fields."""

    def __init__(self, *, parent: QWidget, settings: QSettings, session: Session,
                 submit: Callable[[list[SaveJob]], None], current: Callable[[], Item | None],
                 tell: Callable[[str], None], warn: Callable[[str], None],
                 confirm: Callable[[str, str], bool]):
        """submit queues jobs; current is the selected item; tell shows a passing message, warn
        one that needs the user; confirm asks a yes/no question (No by default)."""
        self.parent, self.settings, self.session = parent, settings, session
        self.submit, self.current, self.tell, self.warn, self.confirm = submit, current, tell, warn, confirm

    def _current_done(self) -> Item | None:
        item = self.current()
        return item if item is not None and item.state is State.DONE else None

    def save(self) -> None:
        """File ▸ Save: to where this item was saved before, else as Save As."""
        item = self._current_done()
        if item is not None and item.saved_to is not None:
            self.save_item(item, item.saved_to, item.saved_quality)
        else:
            self.save_as()

    def save_as(self) -> None:
        """File ▸ Save As: ask for a name, format and quality."""
        item = self._current_done()
        if item is None:
            return
        answer = self.ask_save_path(item)
        if answer is not None:
            self.save_item(item, *answer)

    def ask_save_path(self, item: Item) -> tuple[Path, int] | None:
        """The save dialog (and the quality question for JPEG/WebP): (path, quality), or None."""
        suffix = output_suffix(item, str(self.settings.value("save/format", ".png")))
        folder = remembered_folder(self.settings, "save/folder", None if item.pasted else item.path.parent)
        filters = VIDEO_FILTERS if item.is_video else SAVE_FILTERS
        chosen = next((f for f, s in filters.items() if s == suffix), next(iter(filters)))
        path, chosen = QFileDialog.getSaveFileName(self.parent, f"Save {item.name} as",
                                                   str(Path(folder) / default_name(item, suffix)),
                                                   ";;".join(filters), chosen)
        if not path:
            return None
        path = with_filter_suffix(path, chosen)
        quality = int(self.settings.value("save/quality", 95))
        if has_quality(path.suffix):
            quality, ok = QInputDialog.getInt(self.parent, "Save As", f"{path.suffix[1:].upper()} quality "
                                              "(1–100; higher is better and larger):", quality, 1, 100)
            if not ok:
                return None
        return path, quality

    def sidecars(self, item: Item) -> tuple[Path, ...]:
        """Where a sidecar saved with an earlier result of this photo may be (sidecar.py), in any
        format: beside Save As's proposal, in the folder it proposes and in the photo's own, and
        beside Save All's output in its remembered folder. None for pasted images (their names
        repeat from session to session) and videos."""
        if item.pasted or item.is_video:
            return ()
        proposed = Path(remembered_folder(self.settings, "save/folder", item.path.parent))
        folders = dict.fromkeys([proposed, item.path.parent])  # (once, when they are the same)
        found = [sidecar_of(folder / default_name(item, ext)) for folder in folders for ext in IMAGE_WRITE]
        save_all = str(self.settings.value("saveall/folder", "") or "")
        if save_all and Path(save_all).is_dir():  # (its clash-renamed names, photo-2.png, are not guessed)
            found += [sidecar_of(Path(save_all) / f"{item.path.stem}{ext}") for ext in IMAGE_WRITE]
        return tuple(found)

    def _originals(self) -> set[str]:
        return {path_key(i.path) for i in self.session.items.values()}

    def save_item(self, item: Item, path, quality: int = 95) -> bool:
        """Queue saving the item at its vividness; asks before replacing an original. True if queued."""
        path = Path(path)
        formats = VIDEO_FORMATS if item.is_video else FORMATS
        if path.suffix.lower() not in (VIDEO_WRITE if item.is_video else IMAGE_WRITE):
            self.warn(f"Cannot save as {path.suffix or 'a file without an extension'}: use {', '.join(formats)}")
            return False
        what = "video" if item.is_video else "photo"
        if path_key(path) in self._originals() and not self.confirm(
                "Replace the original?", f"{path} is an original black-and-white {what}."
                f"\n\nReplace it with the colorized {'video' if item.is_video else 'image'}? This cannot be undone."):
            self.tell("Not saved: the original is kept")
            return False
        self.settings.setValue("save/folder", str(path.parent))
        suffix = {".jpeg": ".jpg", ".tiff": ".tif"}.get(path.suffix.lower(), path.suffix.lower())
        if suffix in FORMATS.values():  # the next Save As proposes the same format
            self.settings.setValue("save/format", suffix)
        self.settings.setValue("save/quality", quality)
        self.submit([self.session.save_job(item, path, quality)])
        return True

    def save_all_dialog(self) -> None:
        """File ▸ Save All: ask for a folder, format and quality, then save every image there."""
        dialog = SaveAllDialog(self.parent, remembered_folder(self.settings, "saveall/folder"),
                               str(self.settings.value("saveall/format", "")),
                               int(self.settings.value("save/quality", 95)))
        if dialog.exec_():
            self.save_all(dialog.folder(), dialog.suffix(), dialog.quality())

    def save_all(self, folder, suffix: str = SAME_AS_ORIGINAL, quality: int = 95) -> int:
        """Queue saving every colorized (or still colorizing) item into folder, each under its
        original name with the chosen suffix; returns how many."""
        items = [i for i in self.session.items.values() if i.state in (State.DONE, State.WAITING, State.WORKING)]
        if not items:
            self.tell("Nothing to save yet")
            return 0
        folder = Path(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            self.warn(f"Cannot create {folder}: {e.strerror or e}")
            return 0
        targets = plan_outputs(items, folder, suffix)
        originals = self._originals()
        clash_original = {n for n, dst in enumerate(targets) if path_key(dst) in originals}
        clash_existing = {n for n, dst in enumerate(targets) if n not in clash_original and dst.exists()}
        skip: set[int] = set()
        if clash_original or clash_existing:
            choice = self.ask_replace(len(clash_existing), len(clash_original))
            if choice == "cancel":
                return 0
            if choice == "skip":
                skip = clash_original | clash_existing
        self.settings.setValue("saveall/folder", str(folder))
        self.settings.setValue("saveall/format", suffix)
        self.settings.setValue("save/quality", quality)
        jobs = [self.session.save_job(i, dst, quality) for n, (i, dst) in enumerate(zip(items, targets))
                if n not in skip]
        self.submit(jobs)
        return len(jobs)

    def ask_replace(self, existing: int, originals: int) -> str:
        """Ask what to do with files Save All would replace: "replace", "skip" or "cancel"."""
        lines = []
        if originals:
            lines.append(f"{originals} of them would replace your original black-and-white photos.")
        if existing:
            lines.append(f"{existing} other file{'s' * (existing != 1)} already exist{'s' * (existing == 1)}.")
        box = QMessageBox(QMessageBox.Warning, "Replace files?", "\n".join(lines), parent=self.parent)
        replace = box.addButton("Replace", QMessageBox.DestructiveRole)
        skip = box.addButton("Skip Those", QMessageBox.AcceptRole)
        box.addButton(QMessageBox.Cancel)
        box.setDefaultButton(skip)
        box.exec_()
        return "replace" if box.clickedButton() is replace else "skip" if box.clickedButton() is skip else "cancel"
