"""Screenshot an SVG in headless Chromium, to look at what a browser really draws.

    python scripts/screenshot_svg.py graph.svg graph.png [--scale 2]

The SVG is shown on a white HTML page sized to the picture (read from its width and
height attributes) and captured with ``chromium --headless --screenshot``. Needs Chromium
(Debian: ``apt-get install chromium``); ``chromium_path()`` finds it.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_path() -> str | None:
    """The Chromium (or Chrome) executable on the PATH, or None."""
    return next((p for p in map(shutil.which, NAMES) if p), None)


def screenshot(svg: Path, png: Path, scale: float = 2.0, timeout: float = 60.0) -> Path:
    """Render ``svg`` in headless Chromium and write the screenshot to ``png``."""
    exe = chromium_path()
    if exe is None:
        raise FileNotFoundError("Chromium is not installed (apt-get install chromium)")
    root = ET.parse(svg).getroot()
    width, height = (int(float(root.get(k, "800").rstrip("px"))) for k in ("width", "height"))
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "page.html"
        page.write_text("<!doctype html><html><body style='margin:0;background:white'>"
                        f"{svg.read_text()}</body></html>")
        subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--force-device-scale-factor={scale}", f"--user-data-dir={tmp}/profile",
                        f"--screenshot={png.resolve()}", f"--window-size={width},{height}",
                        page.as_uri()], check=True, capture_output=True, timeout=timeout)
    return png


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("svg", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--scale", type=float, default=2.0, help="device pixels per CSS pixel")
    args = parser.parse_args()
    print(screenshot(args.svg, args.png, args.scale))


if __name__ == "__main__":
    main()
