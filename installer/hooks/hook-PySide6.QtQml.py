"""Replaces PyInstaller's hook for PySide6.QtQml, which bundles Qt's whole qml/ tree.

The app has no QML user interface (QtQml/QtQuick only come in as libraries QtWebEngine links
against), so the QML plugins, and the Quick3D, Multimedia, Location... libraries they need,
stay out of the bundle: about 80 MB.
"""
from PyInstaller.utils.hooks.qt import add_qt6_dependencies

hiddenimports, binaries, datas = add_qt6_dependencies(__file__)
