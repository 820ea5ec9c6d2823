"""The HTML report in a real browser: the golden month's report of
client-a (see test_report.py) opened in Debian's headless chromium (its
DOM: the client's sites, the updates with versions, the two charts; a
screenshot with ink on it), printed to PDF, and the PDF's first page
rendered by pdftoppm.

ctest runs this file only when chromium and pdftoppm are there (both in
tests/deps); otherwise it is reported skipped, with the reason, by
tests/ctest-skips.
"""

import os
import re
import shutil
import struct
import subprocess
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kcron_helpers as kh  # noqa: E402
from test_report import report, setup  # noqa: E402,F401  (the fixture)

CHROMIUM = shutil.which("chromium")
PDFTOPPM = shutil.which("pdftoppm")


def png_pixels(data):
    """(width, height, rows of RGB bytes) of an 8-bit RGB/RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and ctype in (2, 6)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + n
    raw, rows, prev = zlib.decompress(idat), [], bytearray(w * bpp)
    stride = w * bpp + 1
    for y in range(h):
        f, line = raw[y * stride], bytearray(raw[y * stride + 1:(y + 1) * stride])
        for i in range(len(line)):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc
                                      else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def ink(png):
    """The share of pixels that are not white, and how many colours."""
    w, h, bpp, rows = png_pixels(png)
    dark, colours = 0, set()
    for row in rows:
        for x in range(0, w * bpp, bpp):
            px = row[x:x + 3]
            if px != b"\xff\xff\xff":
                dark += 1
                colours.add(px)
    return dark / (w * h), len(colours)


def chromium(tmp, *args, timeout=90):
    """Headless chromium on a local file, with no traffic of its own: no
    background services, every host name unresolvable, a dead proxy.  (A
    few seconds on an idle machine; it waits for CPU on a busy one.)"""
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--no-first-run", "--user-data-dir=" + str(tmp / "chromium"),
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-default-apps", "--disable-breakpad",
         "--disable-domain-reliability", "--dns-prefetch-disable",
         "--no-pings", "--host-resolver-rules=MAP * ~NOTFOUND",
         "--proxy-server=127.0.0.1:9",
         "--disable-features=MediaRouter,OptimizationHints,Translate",
         *args],
        capture_output=True, text=True, timeout=timeout,
        env=dict(os.environ, DBUS_SESSION_BUS_ADDRESS="disabled:"))


def test_html_in_chromium_and_pdf(setup):
    sim, conf, tmp = setup
    out = tmp / "client-a.html"
    report(conf, "--format", "html", "-o", str(out))
    url = "file://" + str(out)
    dom = chromium(tmp, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    d = dom.stdout
    for site in ("Alpha Site", "Bravo Site", "example-alpha.com",
                 "example-bravo.com"):
        assert site in d
    assert "charliesite" not in d  # another client's site
    # updates with versions, pending and applied
    assert "woocommerce 8.4.0 → 8.5.1" in d
    assert "akismet 5.2.9 → 5.3" in d
    assert "jetpack <span class=\"muted\">(plugin)</span> 13.0 → 13.1" in d
    # the two charts, with bars
    assert len(re.findall(r"<svg\b", d)) == 2
    assert len(re.findall(r"<rect\b", d)) > 40
    assert "Maintenance runs per day by outcome" in d
    # the message's markup stayed text
    assert "<script>alert" not in d
    shot = tmp / "shot.png"
    r = chromium(tmp, "--screenshot=" + str(shot), "--window-size=1200,1600",
                 "--hide-scrollbars", url)
    assert r.returncode == 0 and shot.exists(), r.stderr[-2000:]
    share, colours = ink(shot.read_bytes())
    assert 0.02 < share < 0.9 and colours > 20, (share, colours)
    pdf = tmp / "report.pdf"
    r = chromium(tmp, "--print-to-pdf=" + str(pdf), "--no-pdf-header-footer", url)
    assert r.returncode == 0 and pdf.exists(), r.stderr[-2000:]
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert PDFTOPPM is not None, "pdftoppm (poppler-utils) is in tests/deps"
    subprocess.run([PDFTOPPM, "-png", "-r", "50", "-f", "1", "-l", "1",
                    str(pdf), str(tmp / "page")], check=True, timeout=60)
    page = [p for p in os.listdir(tmp) if p.startswith("page")]
    assert len(page) == 1
    share, colours = ink((tmp / page[0]).read_bytes())
    assert 0.02 < share < 0.9 and colours > 10, (share, colours)


