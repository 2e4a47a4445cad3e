"""Installers: the GIMP plug-in (`colorize-install-gimp`, installer.gimp) and the desktop bundle
(installer/colorize.spec, installer/build_bundle.sh)."""
