"""What the notebooks in this folder share: their inputs from environment variables, and where
their figures go.

An input variable holds one path or several separated by ':' (os.pathsep, as PATH does); a
path with * ? or [ is a glob. Relative paths are taken from the repository root (the folder
above this one), so a notebook reads the same files whichever folder the kernel starts in.
Unset, a variable takes its default (the committed references under results/reference/); a
path that does not exist, or a glob that matches nothing, is an InputError naming the variable
and the path: never a silent fallback.

LINKLAB_NOTEBOOK_OUT: the folder the figures are saved into as PNG (default
results/notebooks/, which git ignores).
"""
import glob
import io
import os

import matplotlib.pyplot as plt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DPI = 100  # saved PNGs and inline figures


class InputError(Exception):
    """A notebook input that is missing or not what it should be (names the variable)."""


def _resolve(path):
    return path if os.path.isabs(path) else os.path.join(ROOT, path)


def paths(var, default, kind="file or folder"):
    """The paths of input variable `var` (default: the list `default`), each existing; globs
    expanded in sorted order. `kind` says what is expected, for the error."""
    raw = os.environ.get(var)
    items = default if raw is None else [p for p in raw.split(os.pathsep) if p]
    if not items:
        raise InputError(f"{var} is empty: it needs at least one {kind}")
    out = []
    for item in items:
        path = _resolve(item)
        if any(c in item for c in "*?["):
            found = sorted(glob.glob(path))
            if not found:
                raise InputError(f"{var}: {item}: the pattern matches no {kind}")
            out.extend(found)
        elif not os.path.exists(path):
            raise InputError(f"{var}: {item}: no such {kind}")
        else:
            out.append(path)
    return out


def optional_paths(var, default=()):
    """Like paths(), but an unset or empty variable (and an empty default) gives []."""
    raw = os.environ.get(var)
    if (raw is None and not default) or (raw is not None and not raw.strip(os.pathsep)):
        return []
    return paths(var, list(default))


def file_in(path, name, var):
    """`path` itself if it is a file, else `path/name`; an InputError naming `var` if missing."""
    f = path if os.path.isfile(path) else os.path.join(path, name)
    if not os.path.isfile(f):
        raise InputError(f"{var}: {path}: has no {name}")
    return f


def rel(path):
    """`path` relative to the repository root where it lies inside it (for titles and tables)."""
    r = os.path.relpath(path, ROOT)
    return path if r.startswith("..") else r


def out_dir():
    """LINKLAB_NOTEBOOK_OUT (default results/notebooks/), created if missing."""
    d = _resolve(os.environ.get("LINKLAB_NOTEBOOK_OUT") or "results/notebooks")
    os.makedirs(d, exist_ok=True)
    return d


def setup():
    """Inline figures at DPI, as the saved ones; returns the output folder."""
    plt.rcParams["figure.dpi"] = DPI
    plt.rcParams["savefig.dpi"] = DPI
    return out_dir()


def save(fig, name):
    """Saves `fig` as out_dir()/name, a PNG of 256 colours (a third of matplotlib's size, so that
    executed notebooks stay small), shows that PNG inline and closes the figure."""
    from IPython.display import Image, display  # only where a notebook runs
    from PIL import Image as PilImage  # python3-pil, which python3-matplotlib depends on

    raw = io.BytesIO()
    fig.savefig(raw, format="png", dpi=DPI)
    plt.close(fig)
    raw.seek(0)
    small = io.BytesIO()
    PilImage.open(raw).convert("RGB").quantize(256).save(small, format="png", optimize=True)
    path = os.path.join(out_dir(), name)
    with open(path + ".tmp", "wb") as f:
        f.write(small.getvalue())
    os.replace(path + ".tmp", path)
    print(f"saved {rel(path)}")
    display(Image(data=small.getvalue(), format="png"))


def markdown_table(head, rows):
    """A Markdown table: `head` a list of column titles, `rows` lists of cells (str() each)."""
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join("–" if c is None else str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def fmt(v, digits=3):
    """A number to `digits` significant digits (whole numbers from 10^digits up); None and NaN
    as '–'."""
    if v is None or v != v:
        return "–"
    return f"{v:.0f}" if abs(v) >= 10 ** digits else f"{v:.{digits}g}"
