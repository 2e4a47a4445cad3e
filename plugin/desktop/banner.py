"""A dismissable line above the view for what needs the user: missing weights, a failed save."""
from __future__ import annotations

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QStyle, QToolButton


class Banner(QFrame):
    """A dismissable line above the view for what needs the user: missing weights, a failed save."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setStyleSheet("Banner { background: #5a2a27; border-radius: 4px; } QLabel { color: white; }")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.button = QPushButton()
        self.close_button = QToolButton()
        self.close_button.setIcon(self.style().standardIcon(QStyle.SP_TitleBarCloseButton))
        self.close_button.setAutoRaise(True)
        self.close_button.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.button)
        layout.addWidget(self.close_button)
        self._on_click = None
        self.button.clicked.connect(lambda: self._on_click and self._on_click())
        self.hide()

    def show_message(self, text: str, button: str = "", action=None) -> None:
        """Show text, with a button that runs action if given."""
        self.label.setText(text)
        self.button.setText(button)
        self.button.setVisible(bool(button))
        self._on_click = action
        self.show()
