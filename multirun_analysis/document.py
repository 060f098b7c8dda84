"""A tiny document model rendered both as Markdown and as self-contained HTML.

Blocks: headings, paragraphs (with `code` and **bold**), bullet lists, DataFrame tables and
images (linked in Markdown, base64-embedded in HTML).
"""

from __future__ import annotations

import base64
import html
import os
import re
from pathlib import Path

import pandas as pd

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1200px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #ddd; padding-bottom: .3em; }
h2 { border-bottom: 1px solid #eee; padding-bottom: .2em; margin-top: 1.8em; }
table { border-collapse: collapse; margin: .8em 0; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 4px 9px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
tr:nth-child(even) td { background: #fafafa; }
code { background: #f3f3f3; padding: 1px 4px; border-radius: 3px; font-size: 90%; }
img { max-width: 100%; border: 1px solid #eee; }
"""


def display_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Strings for printing: missing values as '—', floats with 4 significant digits."""
    out = pd.DataFrame(index=df.index)
    for col in df.columns:
        values = df[col]
        if pd.api.types.is_float_dtype(values):
            out[col] = [("—" if pd.isna(v) else f"{v:.4g}") for v in values]
        else:
            out[col] = [
                ("—" if (not isinstance(v, (list, tuple)) and pd.isna(v)) or v == "" else str(v)) for v in values
            ]
    return out


def _inline_html(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"\*([^*\s][^*]*)\*", r"<em>\1</em>", text)


class Document:
    def __init__(self, title: str):
        self.title = title
        self.blocks: list[tuple] = []

    def heading(self, text: str, level: int = 2) -> None:
        self.blocks.append(("heading", level, text))

    def paragraph(self, text: str) -> None:
        self.blocks.append(("paragraph", text))

    def bullets(self, items: list[str]) -> None:
        if items:
            self.blocks.append(("bullets", list(items)))

    def table(self, df: pd.DataFrame) -> None:
        self.blocks.append(("table", display_frame(df)))

    def image(self, path: Path, caption: str) -> None:
        self.blocks.append(("image", Path(path), caption))

    def to_markdown(self, base_dir: Path) -> str:
        lines = [f"# {self.title}", ""]
        for block in self.blocks:
            kind = block[0]
            if kind == "heading":
                lines += ["#" * block[1] + " " + block[2], ""]
            elif kind == "paragraph":
                lines += [block[1], ""]
            elif kind == "bullets":
                lines += [f"- {item}" for item in block[1]] + [""]
            elif kind == "table":
                escaped = block[1].apply(lambda col: col.str.replace("|", "\\|", regex=False))
                lines += [escaped.to_markdown(index=False, disable_numparse=True), ""]  # the cells are display text
            elif kind == "image":
                rel = Path(os.path.relpath(block[1], base_dir)).as_posix()
                lines += [f"![{block[2]}]({rel})", "", f"*{block[2]}*", ""]
        return "\n".join(lines).rstrip() + "\n"

    def to_html(self) -> str:
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(self.title)}</title><style>{CSS}</style></head><body>",
            f"<h1>{html.escape(self.title)}</h1>",
        ]
        for block in self.blocks:
            kind = block[0]
            if kind == "heading":
                parts.append(f"<h{block[1]}>{_inline_html(block[2])}</h{block[1]}>")
            elif kind == "paragraph":
                parts.append(f"<p>{_inline_html(block[1])}</p>")
            elif kind == "bullets":
                items = "".join(f"<li>{_inline_html(item)}</li>" for item in block[1])
                parts.append(f"<ul>{items}</ul>")
            elif kind == "table":
                parts.append(block[1].to_html(index=False, border=0, escape=True))
            elif kind == "image":
                data = base64.b64encode(block[1].read_bytes()).decode("ascii")
                caption = html.escape(block[2])
                parts.append(
                    f'<figure><img alt="{caption}" src="data:image/png;base64,{data}">'
                    f"<figcaption>{caption}</figcaption></figure>"
                )
        parts.append("</body></html>")
        return "\n".join(parts)
