"""OCR's cost: seconds (wall and CPU) per OCR'd image and per OCR'd PDF page.

Usage: ./dev bench bench_ocr [--rounds 5] [--pages 3]

A scanned A4 page (200 DPI, 40 lines of 12 pt text) as a PNG, and an image-only PDF
of ``--pages`` such pages, go through the extractor with OCR on (two Tika parses,
``indexer.extract._ocr``) and with it off (one), interleaved round by round
(``bench.rounds``). Printed: the medians of the wall time per OCR'd page, of the CPU
seconds the Tika server's processes (tesseract included) spent per page, and the
ratio of the OCR'd extraction's time to the plain one's. Everything shares this
machine's cores, so wall time is an upper bound; CPU seconds are what a Tika task pays.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.rounds import MIN_ROUNDS, interleave, paired, seconds  # noqa: E402
from indexer.extract import ExtractLimits, Extractor, OcrSwitch, TikaClient  # noqa: E402
from indexer.source import FileSource  # noqa: E402
from infra.local.endpoints import Endpoints  # noqa: E402
from infra.local.settings import StackSettings  # noqa: E402

WORDS = ["the", "survey", "station", "river", "measured", "temperature", "water", "report",
         "north", "sample", "level", "daily", "record", "field", "notes", "quokka"]


def scanned_page():
    """A4 at 200 DPI with 40 lines of ~12 pt text, as a flatbed scanner gives it."""
    from PIL import Image, ImageDraw, ImageFont

    rng = random.Random(7)
    img = Image.new("L", (1654, 2339), 255)
    draw, font = ImageDraw.Draw(img), ImageFont.load_default(size=33)
    for line in range(40):
        draw.text((150, 150 + 50 * line), " ".join(rng.choice(WORDS) for _ in range(11)),
                  font=font, fill=0)
    return img


def _tree_cpu(root: int) -> float:
    """CPU seconds of ``root`` and every process under it, reaped children included."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = sum(int(f) for f in fields[11:15]) / ticks  # utime stime cutime cstime
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo.extend(child for child, parent in parents.items() if parent == pid)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=MIN_ROUNDS)
    parser.add_argument("--pages", type=int, default=3)
    args = parser.parse_args()
    ep = Endpoints.resolve()
    tika_pid = int((StackSettings.from_env().run_dir / "tika.pid").read_text())
    tika = TikaClient(ep.tika_url)
    if not tika.ocr_types():
        sys.exit(f"the Tika server at {ep.tika_url} cannot OCR (no tesseract on its PATH)")
    page = scanned_page()
    png, pdf = io.BytesIO(), io.BytesIO()
    page.save(png, format="PNG")
    page.save(pdf, format="PDF", save_all=True, resolution=200,
              append_images=[page.copy() for _ in range(args.pages - 1)])
    files = {"png": ("scan.png", png.getvalue(), 1), "pdf": ("scan.pdf", pdf.getvalue(),
                                                              args.pages)}
    limits = ExtractLimits(tika_timeout=600, ocr_max_pages=args.pages)
    on = Extractor(tika, limits, ocr=OcrSwitch("on", tika.ocr_types))
    off = Extractor(tika, limits, ocr=OcrSwitch("off", tika.ocr_types))
    cpu: dict[str, list[float]] = {"png": [], "pdf": []}

    def run(extractor: Extractor, kind: str, record: bool):
        key, body, pages = files[kind]

        def one(_round: int) -> float:
            before = _tree_cpu(tika_pid)
            took = seconds(lambda: extractor.extract(FileSource(io.BytesIO(body), key)))
            if record:
                cpu[kind].append((_tree_cpu(tika_pid) - before) / pages)
            return took
        return one

    got = on.extract(FileSource(io.BytesIO(files["png"][1]), "scan.png"))
    assert got.extractor == "tika+ocr" and "quokka" in got.text.lower(), got
    times = interleave(args.rounds, {
        "png+ocr": run(on, "png", True), "png": run(off, "png", False),
        "pdf+ocr": run(on, "pdf", True), "pdf": run(off, "pdf", False)})
    print(f"OCR on {os.cpu_count()} cores (load {os.getloadavg()[0]:.1f}), "
          f"{args.rounds} rounds, medians:")
    for kind, pages in (("png", 1), ("pdf", args.pages)):
        wall = statistics.median(times[f"{kind}+ocr"]) / pages
        print(f"  {kind}: {wall:6.2f} s wall and {statistics.median(cpu[kind]):6.2f} CPU s per "
              f"OCR'd page ({pages} page(s)); without OCR "
              f"{statistics.median(times[kind]):.3f} s the file; OCR'd / plain time "
              f"{paired(times[f'{kind}+ocr'], times[kind], higher_is_better=True)}")


if __name__ == "__main__":
    main()
