"""The pictures of a run and of the studies: sample grids, the progress GIF, and line
plots, all drawn by `save_line_plot`. Every file is written whole to a temporary name and
then renamed (files.atomic_path)."""
import math

import numpy as np

from .files import atomic_path

SAMPLE_COUNT = 64            # images in a sample grid
GRID_COLUMNS = 8


def image_grid(images, columns=GRID_COLUMNS, padding=2):
    """float (N, C, H, W) images in [-1, 1] -> one uint8 picture, (H', W', 3) or (H', W')
    for one channel, `columns` images a row, as torchvision's make_grid lays them out."""
    images = np.asarray(images, dtype=np.float32)
    n, c, h, w = images.shape
    rows = math.ceil(n / columns)
    cols = min(n, columns)
    grid = np.zeros((c, rows * (h + padding) + padding, cols * (w + padding) + padding), np.float32)
    for i, image in enumerate(images):
        top, left = padding + (i // columns) * (h + padding), padding + (i % columns) * (w + padding)
        grid[:, top:top + h, left:left + w] = image
    grid = np.clip(np.round((grid + 1.0) * 127.5), 0, 255).astype(np.uint8)
    return grid[0] if c == 1 else grid.transpose(1, 2, 0)


def save_image_grid(images, path, columns=GRID_COLUMNS):
    from PIL import Image
    with atomic_path(path) as tmp:
        Image.fromarray(image_grid(images, columns)).save(tmp, format="PNG")


def save_gif(frames, path, ms_per_frame=500):
    """An animated GIF of the given PNG files, in order, looping."""
    from PIL import Image
    images = [Image.open(p).convert("RGB") for p in frames]
    with atomic_path(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                       duration=ms_per_frame, loop=0)


def save_line_plot(path, lines, title, xlabel, ylabel, size=(7, 4.5), log_y=False, levels=(), xticks=None,
                   title_size=None, legend_size=None, tight=False, dpi=None):
    """A PNG of lines: `lines` is [(x, y, style)], style the keywords of matplotlib's
    Axes.plot (label, color, marker, linestyle, ...); a legend when a line has a label.
    `levels`: y values marked by dotted black lines; `log_y`: a log-scale y axis."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for x, y, style in lines:
        ax.plot(x, y, **style)
    for level in levels:
        ax.axhline(level, color="black", linewidth=0.6, linestyle=":")
    if log_y:
        ax.set_yscale("log")
    if xticks is not None:
        ax.set_xticks(xticks)
    ax.set_title(title, **({} if title_size is None else {"fontsize": title_size}))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if any(style.get("label") is not None for _, _, style in lines):
        ax.legend(**({} if legend_size is None else {"fontsize": legend_size}))
    if tight:
        fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", **({} if dpi is None else {"dpi": dpi}))


def save_loss_plot(records, path):
    """Both losses over the iterations, as the tutorial plots them."""
    iterations = [r["iteration"] for r in records]
    names = {"loss_g": "G", "loss_d": "D", "loss_class": "D's class loss"}
    lines = [(iterations, [r[key] for r in records], {"label": names[key], "color": color})
             for key, color in zip([k for k in names if k in records[0]], ("tab:blue", "tab:orange", "tab:green"))]
    save_line_plot(path, lines, "Generator and Discriminator Loss During Training" if "loss_g" in records[0]
                   else "Classifier Loss During Training", "iterations", "loss", size=(10, 5))
