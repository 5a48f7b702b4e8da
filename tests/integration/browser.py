"""Headless Chromium for the browser tests (feblam.bench.browser): without Debian's
chromium, chromium-driver or selenium a test fails with how to get them; it never skips."""

from __future__ import annotations

import pytest

from feblam.bench.browser import BrowserMissing
from feblam.bench.browser import chromium as _chromium


def chromium(*arguments: str, window: tuple[int, int] = (1280, 800), performance_log: bool = False):
    try:
        return _chromium(*arguments, window=window, performance_log=performance_log)
    except BrowserMissing as error:
        pytest.fail(str(error))
