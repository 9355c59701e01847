"""Utilities: save rendered frames as a GIF or MP4; turn on JAX's persistent compilation cache.

>>> import numpy as np
>>> frames = np.zeros((4, 8, 8, 3), np.uint8)
>>> save_video(frames, "/tmp/jit_env_doctest.gif", fps=10)
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from jit_env._cache import default_cache_dir as default_cache_dir
from jit_env._cache import enable_compilation_cache as enable_compilation_cache

ERR_FRAMES = (
    "`frames` must be a uint8 array of shape (T, H, W, 3) with T >= 1, got {}. "
    "Stack the frames of `env.render` (e.g. with np.stack) first."
)
ERR_FPS = "`fps` must be positive, got {!r}."
ERR_SUFFIX = "Cannot tell the video format of {!r}; use a '.gif' or '.mp4' path."
ERR_NO_FFMPEG = (
    "Writing MP4 needs imageio's ffmpeg plugin: pip install imageio imageio-ffmpeg"
)


def save_video(frames: Any, path: str | os.PathLike[str], *, fps: float = 30.0) -> None:
    """Writes frames to a GIF (with Pillow) or an MP4 (with imageio and ffmpeg).

    Args:
        frames: uint8 array (NumPy or JAX) of shape `(T, H, W, 3)`, e.g. a
            stack of `env.render(state)` outputs.
        path: Where to write; the suffix (``.gif`` or ``.mp4``) picks the format.
        fps: Frames per second.

    Raises:
        ValueError: If `frames` has the wrong shape or dtype, `fps` is not
            positive or the suffix is unknown.
        ImportError: If MP4 is asked for and imageio's ffmpeg plugin is missing.
    """
    array = np.asarray(frames)
    if array.dtype != np.uint8 or array.ndim != 4 or array.shape[-1] != 3 or array.shape[0] < 1:
        raise ValueError(ERR_FRAMES.format(f"dtype {array.dtype} and shape {array.shape}"))
    if not fps > 0:
        raise ValueError(ERR_FPS.format(fps))
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".gif":
        from PIL import Image

        images = [Image.fromarray(frame) for frame in array]
        images[0].save(path, save_all=True, append_images=images[1:],
                       duration=max(1, round(1000 / fps)), loop=0)
    elif suffix == ".mp4":
        try:
            import imageio.v2 as imageio
            import imageio_ffmpeg  # noqa: F401 -- the plugin imageio needs for MP4.
        except ImportError as e:
            raise ImportError(ERR_NO_FFMPEG) from e
        imageio.mimwrite(path, list(array), fps=fps)
    else:
        raise ValueError(ERR_SUFFIX.format(path))
