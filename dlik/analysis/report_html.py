"""The markdown subset dlik report writes (headings, pipe tables, images, lists, code, plain
paragraphs) as a standalone HTML page."""

from __future__ import annotations

import html
import re

STYLE = ("body{font-family:sans-serif;max-width:72em;margin:2em auto;padding:0 1em}"
         "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #bbb;"
         "padding:2px 6px;text-align:right}th{background:#eee}td:first-child{text-align:left}"
         "img{max-width:100%}code,pre{background:#f4f4f4}")
IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<src>[^)]+)\)")


def _inline(text: str) -> str:
    out = html.escape(text)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", out)


def _cells(line: str) -> list[str]:
    parts = re.split(r"(?<!\\)\|", line.strip())[1:-1]
    return [p.strip().replace(r"\|", "|") for p in parts]


def _table(lines: list[str]) -> str:
    head, rows = _cells(lines[0]), [_cells(r) for r in lines[2:]]
    th = "".join(f"<th>{_inline(c)}</th>" for c in head)
    body = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def md_to_html(md: str, title: str = "dlik report") -> str:
    """Return a standalone HTML page of markdown text written by dlik report."""
    lines, out, i = md.splitlines(), [], 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            j = next((k for k in range(i + 1, len(lines)) if lines[k].startswith("```")),
                     len(lines))
            out.append("<pre>" + html.escape("\n".join(lines[i + 1:j])) + "</pre>")
            i = j + 1
            continue
        if line.startswith("|"):
            j = i
            while j < len(lines) and lines[j].startswith("|"):
                j += 1
            out.append(_table(lines[i:j]))
            i = j
            continue
        m = re.match(r"(#{1,6}) (.*)", line)
        img = IMAGE.fullmatch(line.strip())
        if m:
            n = len(m[1])
            out.append(f"<h{n}>{_inline(m[2])}</h{n}>")
        elif img:
            out.append(f'<p><img src="{html.escape(img["src"])}" '
                       f'alt="{html.escape(img["alt"])}"></p>')
        elif line.startswith("- "):
            out.append(f"<ul><li>{_inline(line[2:])}</li></ul>")
        elif line.strip():
            out.append(f"<p>{_inline(line)}</p>")
        i += 1
    body = "\n".join(out).replace("</ul>\n<ul>", "\n")
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}"
            f"</title><style>{STYLE}</style></head><body>\n{body}\n</body></html>\n")
