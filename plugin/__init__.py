"""Front ends built on the engine: the desktop app (plugin.desktop) and the GIMP plug-in (plugin.gimp)."""
