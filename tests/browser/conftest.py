"""The browser tests take Chromium, their tabs and screenshot folders from `browser_support`."""

from browser_support import chromium, screenshots, tab  # noqa: F401
