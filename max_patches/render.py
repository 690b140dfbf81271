"""Draw a .maxpat's boxes and cords to a PNG, since Max cannot run here: docs/max.png.

    python max_patches/render.py max_patches/cadenza.maxpat docs/max.png
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def render(maxpat: Path, png: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    d = json.loads(Path(maxpat).read_text())["patcher"]
    boxes = {b["box"]["id"]: b["box"] for b in d["boxes"]}
    right = max(b["patching_rect"][0] + b["patching_rect"][2] for b in boxes.values()) + 20
    bottom = max(b["patching_rect"][1] + b["patching_rect"][3] for b in boxes.values()) + 20
    fig, ax = plt.subplots(figsize=(right / 80, bottom / 80), dpi=110)
    ax.set_xlim(0, right)
    ax.set_ylim(bottom, 0)
    ax.axis("off")

    def port_x(b, i, n):
        x, _, w, _ = b["patching_rect"]
        return x + 4 if n <= 1 else x + 4 + i * (w - 8) / (n - 1)

    for line in d["lines"]:
        (src, out), (dst, inl) = line["patchline"]["source"], line["patchline"]["destination"]
        a, b = boxes[src], boxes[dst]
        x0 = port_x(a, out, a.get("numoutlets", 1))
        y0 = a["patching_rect"][1] + a["patching_rect"][3]
        x1 = port_x(b, inl, b.get("numinlets", 1))
        y1 = b["patching_rect"][1]
        ax.plot([x0, x1], [y0, y1], color="#555555", lw=0.8, zorder=1)
    for b in boxes.values():
        x, y, w, h = b["patching_rect"]
        cls = b["maxclass"]
        text = b.get("text", "") or {"umenu": "[menu]", "flonum": "0.9", "number": "0", "button": "o"}.get(cls, cls)
        if cls == "comment":
            ax.text(x, y + h * 0.7, text, fontsize=7, color="#333333", zorder=3)
            continue
        face = {"message": "#dddddd", "button": "#ffffff"}.get(cls, "#f4f4f4")
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0,rounding_size=3", fc=face,
                                    ec="#222222", lw=0.8, zorder=2))
        ax.text(x + 4, y + h * 0.68, text, fontsize=6.5, family="monospace", zorder=3, clip_on=True)
        for i in range(b.get("numinlets", 0)):
            ax.plot([port_x(b, i, b["numinlets"])], [y], marker="s", ms=2, color="#222222", zorder=4)
        for i in range(b.get("numoutlets", 0)):
            ax.plot([port_x(b, i, b["numoutlets"])], [y + h], marker="s", ms=2, color="#222222", zorder=4)
    fig.savefig(png, bbox_inches="tight")
    plt.close(fig)
    return Path(png)


if __name__ == "__main__":
    print(render(Path(sys.argv[1]), Path(sys.argv[2])))
