"""The window's commands: one QAction each (text, shortcut, icon, tip), and the menus and toolbar
that offer them. What a command does is the window's (or its Saver's or PhotoFlow's) business, not
this module's."""
from __future__ import annotations

from PyQt5.QtGui import QIcon, QKeySequence
from PyQt5.QtWidgets import QAction, QMenuBar, QStyle, QToolBar

HINTS_TIP = ("Hint mode: click the result to give a spot a colour, drag a point to move it, right-click or "
             "Delete removes it; the network runs again with the points")
NO_HINTS_TIP = "These weights take no colour hints (weights fine-tuned with training.hints do)"


class Commands:
    """Every QAction of the main window, as attributes."""

    def __init__(self, win):
        self._win = win
        S, act, view, saver = QStyle, self._make, win.view, win.saver
        self.open = act("&Open…", win.open_files, QKeySequence.Open, ("document-open", S.SP_DialogOpenButton),
                        "Open photos")
        self.open_folder = act("Open &Folder…", win.open_folder, "Ctrl+Shift+O", ("folder-open", S.SP_DirOpenIcon),
                               "Open every photo in a folder and its sub-folders")
        self.paste = act("&Paste", win.paste, QKeySequence.Paste, ("edit-paste", None),
                         "Colorize the image or image files on the clipboard")
        self.save = act("&Save", saver.save, QKeySequence.Save, ("document-save", S.SP_DialogSaveButton),
                        "Save the selected image")
        self.save_as = act("Save &As…", saver.save_as, QKeySequence.SaveAs, ("document-save-as", None),
                           "Save the selected image under a new name or format")
        self.save_all = act("Save A&ll…", saver.save_all_dialog, "Ctrl+Alt+S", ("document-save-all", S.SP_DriveHDIcon),
                            "Save every colorized image into a folder")
        self.load_model = act("Load &Model…", win.choose_weights, tip="Use another weights folder")
        self.quit = act("&Quit", win.close, QKeySequence.Quit)
        self.remove = act("&Remove", win.flow.remove_selected, QKeySequence.Delete,
                          tip="Remove the selected item from the list (the file is untouched)")
        self.clear = act("&Clear All", win.flow.clear_all)
        self.fit = act("&Fit", view.zoom_fit, "Ctrl+0", ("zoom-fit-best", None), "Fit the image in the window")
        self.zoom_100 = act("&100 %", view.zoom_100, "Ctrl+1", ("zoom-original", None), "Actual pixels")
        self.zoom_in = act("Zoom &In", lambda: view.zoom_by(1.25), QKeySequence.ZoomIn)
        self.zoom_out = act("Zoom &Out", lambda: view.zoom_by(0.8), QKeySequence.ZoomOut)
        self.retry = act("&Retry Failed and Cancelled", win.flow.retry, "F5", ("view-refresh", S.SP_BrowserReload))
        self.cancel = act("&Cancel", win.flow.cancel, "Esc", ("process-stop", S.SP_DialogCancelButton),
                          "Stop the running batch")
        self.about = act("&About Colorize", win.about)
        self.hints = act("&Hint Mode", win.hint_mode_toggled, "H", ("color-picker", None), HINTS_TIP, checkable=True)
        self.remove_hint = act("Remove Hint &Point", win.hint_editor.remove_selected,
                               tip="Remove the selected hint point")
        self.undo = self._history_action(win.hint_history.createUndoAction(win, "Undo"), [QKeySequence.Undo],
                                         "edit-undo")
        self.redo = self._history_action(win.hint_history.createRedoAction(win, "Redo"),
                                         [QKeySequence("Ctrl+Shift+Z"), QKeySequence.Redo], "edit-redo")

    def _make(self, text, slot, shortcut=None, icon=None, tip=None, checkable=False) -> QAction:
        action = QAction(text, self._win)
        action.setCheckable(checkable)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if icon is not None:  # (the desktop theme's name, Qt's built-in fallback or None)
            theme, fallback = icon
            style = self._win.style()
            action.setIcon(QIcon.fromTheme(theme, style.standardIcon(fallback)) if fallback is not None
                           else QIcon.fromTheme(theme))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(lambda checked=False: slot())
        self._win.addAction(action)  # shortcuts work wherever the focus is
        return action

    def _history_action(self, action: QAction, shortcuts, theme: str) -> QAction:
        """Undo or Redo of the hint points (its text names the change: "Undo Move Hint")."""
        action.setShortcuts(shortcuts)
        action.setIcon(QIcon.fromTheme(theme))
        self._win.addAction(action)
        return action

    def set_hint_editing(self, on: bool) -> None:
        """In hint mode Delete removes the selected point, never the photo from the list."""
        self.remove_hint.setEnabled(on)
        self.remove_hint.setShortcut(QKeySequence.Delete if on else QKeySequence())
        self.remove.setShortcut(QKeySequence() if on else QKeySequence.Delete)

    def zoom(self) -> list[QAction]:
        """The commands that need an image on screen."""
        return [self.fit, self.zoom_100, self.zoom_in, self.zoom_out]

    def fill_menus(self, bar: QMenuBar) -> None:
        """The menu bar: File, Edit, View, Colorize, Help."""
        menus = {
            "&File": [self.open, self.open_folder, self.paste, None, self.save, self.save_as, self.save_all, None,
                      self.load_model, None, self.quit],
            "&Edit": [self.undo, self.redo, None, self.paste, None, self.remove, self.clear],
            "&View": self.zoom(),
            "&Colorize": [self.hints, self.remove_hint, None, self.retry, self.cancel],
            "&Help": [self.about],
        }
        for title, actions in menus.items():
            menu = bar.addMenu(title)
            for action in actions:
                menu.addSeparator() if action is None else menu.addAction(action)

    def fill_toolbar(self, tools: QToolBar) -> None:
        """The main toolbar's buttons (hint mode and the vividness and reference controls have a row of
        their own: the window's)."""
        for action in (self.open, self.paste, None, self.save, self.save_as, self.save_all, None,
                       self.fit, self.zoom_100):
            tools.addSeparator() if action is None else tools.addAction(action)
