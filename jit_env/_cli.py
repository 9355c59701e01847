"""The ``jit-env`` command (also ``python -m jit_env``): list, run, compile, check and bench environments.

See docs/cli.md. `run` is also the function behind examples/quickstart.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import inspect
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import jax
import jax.numpy as jnp
import numpy as np

from jit_env import _cache, _core, _registry, adapters, testing, wrappers

ERR_POSITIVE = "must be a positive int, got {!r}"
ERR_POSITIVE_LIST = "must be positive ints separated by commas (e.g. 64,1024), got {!r}"
ERR_TOLERANCE = "must be a finite number >= 0 (e.g. 1e-4), got {!r}"
ERR_TARGET = (
    "expected MODULE:ATTR (e.g. 'my_envs:MyEnv', ATTR an environment or a zero-argument "
    "factory), PATH.py or PATH.py:ATTR (e.g. 'examples/counting_env.py') or a registered id, "
    "got {!r}."
)
ERR_NO_FILE = "no such file {path!r} (a PATH.py target names a Python file)."
ERR_ENVS_IN_FILE = (
    "{path} defines {found} environment (an Environment instance, or an Environment subclass "
    "made there); name the one to check as {path}:ATTR."
)
ERR_NO_GYMNASIUM = "Gymnasium is not installed, so only jit_env is timed: pip install \"jit_env[gymnasium]\""
ERR_IMPORT = "cannot import module {module!r}: {error}"
ERR_NO_ATTR = "module {module!r} has no attribute {attr!r}."
ERR_FACTORY = "calling {target} with no arguments raised {error}"
ERR_NOT_AN_ENV = (
    "{target} is {got!r}, not a jit_env.Environment nor a zero-argument factory returning one."
)
ERR_NO_VIDEO = (
    "Saving a GIF needs Pillow, from the video extra: pip install 'jit_env[video]' ({error})."
)
ERR_GIF_SUFFIX = "`gif` must name a .gif file, got {path!r}; e.g. --gif episode.gif."
ERR_GIF_DIR = (
    "`gif` {path!r} is in the directory {directory!r}, which does not exist; create it first or "
    "pick another path."
)
ERR_GIF_NO_RENDER = (
    "`gif` needs an environment that renders, but {env_id} has no renderer ({error}); run it "
    "without --gif, or pick an environment whose `render` is implemented (jit-env list)."
)
ERR_USAGE = "jit-env: error: {}"
ERR_EVERY_NEEDS_DIR = (
    "--checkpoint-every {every} needs --checkpoint-dir DIR to save into; add it, or drop "
    "--checkpoint-every."
)
ERR_NO_CHECKPOINT_EXTRA = (
    'Checkpoints need orbax-checkpoint, from the checkpoint extra: pip install "jit_env[checkpoint]" '
    "({error})."
)
ERR_HAS_CHECKPOINTS = (
    "{directory} already holds checkpoints of a run (latest: {latest}); continue it with --resume "
    "{directory}, or pick an empty --checkpoint-dir."
)
ERR_NOTHING_TO_RESUME = (
    "--resume {directory}: no checkpoint there (none written by jit-env run --checkpoint-dir); "
    "start the run with --checkpoint-dir {directory} first."
)
ERR_CONTRADICTS = (
    "--resume {directory}: {flag} {given} contradicts the checkpoint, saved with {flag} {saved}; "
    "leave {flag} out to continue with the saved value, or start a new run in another "
    "--checkpoint-dir."
)
ERR_RESUME_NEEDS_DIR = "`resume=True` needs `checkpoint_dir`, the directory of the run to resume."
ERR_NEEDS_ID = "the ID is required (e.g. jit-env run CartPole-v1), unless --resume DIR continues a saved run."
ERR_RESUME_DIR = (
    "--resume {resume} and --checkpoint-dir {directory} name different directories; a resumed run "
    "keeps saving into the one it resumes from, so leave --checkpoint-dir out."
)
MSG_COMPILED = (
    "compiled the {programs} programs of `{command}` into {cache} ({entries} entries there now)"
)

CHECKPOINT_PREFIX = "step-"
"""A complete checkpoint of `run` is the directory ``step-T`` (T steps per environment done)."""
PARTIAL_PREFIX = ".partial-step-"
"""A checkpoint being written; renamed to ``step-T`` (atomically) once complete."""
CHECKPOINTS_KEPT = 2
"""How many of the latest checkpoints a run keeps; older ones are deleted."""
DEFAULT_CHECKPOINT_EVERY = 10
_RECORD = "run.json"
_STATE = "state"
_TRASH_PREFIX = ".deleting-"
_RECORD_FORMAT = 1
# `run`'s arguments that a checkpoint fixes, and how the command line spells them.
_SAVED_ARGUMENTS = {"env_id": "ID", "num_envs": "--num-envs", "steps": "--steps", "chunk": "--chunk",
                    "seed": "--seed", "checkpoint_every": "--checkpoint-every"}


class UsageError(Exception):
    """A bad argument found after parsing (exit status 2), e.g. an unknown environment id."""


@dataclasses.dataclass(frozen=True)
class RunResult:
    """What `run` measured.

    Attributes:
        env_id: The environment's id.
        num_envs: The batch size N.
        steps: Steps per environment T (N * T environment steps in all).
        seconds: Wall time of the rollout, compilation excluded.
        steps_per_second: ``N * T / seconds``.
        episodes: Episodes that finished during the rollout.
        mean_return, max_return, mean_length: Over finished episodes (NaN if none),
            of the whole run (a resumed run's include those before its checkpoint).
        start_step: Steps per environment done before this call (the checkpoint
            it resumed from), 0 for a fresh run; `seconds` and
            `steps_per_second` count only the steps run after it.
    """

    env_id: str
    num_envs: int
    steps: int
    seconds: float
    steps_per_second: float
    episodes: int
    mean_return: float
    max_return: float
    mean_length: float
    start_step: int = 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0 or str(value) != text.strip().lstrip("+"):
        raise argparse.ArgumentTypeError(ERR_POSITIVE.format(text))
    return value


def _tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(ERR_TOLERANCE.format(text))
    return value


def _positive_ints(text: str) -> list[int]:
    try:
        return [_positive_int(part) for part in text.split(",")]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(ERR_POSITIVE_LIST.format(text)) from None


def _registered(env_id: str) -> str:
    try:
        _registry.spec(env_id)
    except ValueError as e:
        raise UsageError(str(e)) from None
    return env_id


def _random_chunk(env: _core.Environment[Any, Any, Any], length: int) -> Callable[..., Any]:
    """`length` random-action steps of a batched, auto-resetting `env` in one `lax.scan`."""
    action_spec = env.action_spec()

    def chunk(state: Any, key: jax.Array, index: jax.Array) -> Any:
        key = jax.random.fold_in(key, index)  # Inside the compiled chunk: no eager op to time.

        def body(state: Any, key: jax.Array) -> Any:
            state, timestep = env.step(state, action_spec.sample(key))
            stats: Any = timestep.extras[wrappers.EPISODE]  # type: ignore[index]
            return state, (stats["done"], stats["return"], stats["length"])

        return jax.lax.scan(body, state, jax.random.split(key, length))

    return chunk


@dataclasses.dataclass
class _Totals:
    """The running statistics of finished episodes, the numbers `run` prints.

    Kept as exact running sums (float64, in chunk order), so a run resumed from
    a checkpoint holding them ends with the same numbers, bit for bit, as one
    that never stopped.
    """

    episodes: int = 0
    return_sum: float = 0.0
    return_max: float | None = None
    length_sum: int = 0

    def add(self, finished: np.ndarray, returns: np.ndarray, lengths: np.ndarray) -> None:
        returns, lengths = returns[finished], lengths[finished]
        if returns.size:
            self.episodes += int(returns.size)
            self.return_sum += float(np.sum(returns, dtype=np.float64))
            top = float(np.max(returns))
            self.return_max = top if self.return_max is None else max(self.return_max, top)
            self.length_sum += int(np.sum(lengths, dtype=np.int64))


@dataclasses.dataclass(frozen=True)
class _Programs:
    """What `run` compiles before its clock starts (and `jit-env compile` stores in the cache)."""

    env: _core.Environment[Any, Any, Any]
    key: jax.Array
    state: Any
    lengths: list[int]
    compiled: dict[int, Any]


def _compile_programs(env_id: str, *, num_envs: int, steps: int, chunk: int, seed: int) -> _Programs:
    """The batched environment, its first state, and the compiled chunks of `run`."""
    env = wrappers.wrap(_registry.make(env_id), num_envs=num_envs, jit=False)
    key = jax.random.key(seed)
    state, _ = jax.jit(env.reset)(key)
    chunk = min(chunk, steps)
    lengths = [chunk] * (steps // chunk) + ([steps % chunk] if steps % chunk else [])
    index = np.int32(0)
    compiled = {n: jax.jit(_random_chunk(env, n)).lower(state, key, index).compile() for n in set(lengths)}
    return _Programs(env=env, key=key, state=state, lengths=lengths, compiled=compiled)


def _checkpoints(directory: str) -> list[tuple[int, str]]:
    """The complete checkpoints of `run` in `directory`, as (steps done, path), oldest first."""
    if not os.path.isdir(directory):
        return []
    found = []
    for name in os.listdir(directory):
        steps = name[len(CHECKPOINT_PREFIX):]
        path = os.path.join(directory, name)
        if name.startswith(CHECKPOINT_PREFIX) and steps.isdigit() and os.path.isfile(os.path.join(path, _RECORD)):
            found.append((int(steps), path))
    return sorted(found)


def latest_checkpoint(directory: str | os.PathLike[str]) -> tuple[str, dict[str, Any]] | None:
    """The latest complete checkpoint `run` wrote in `directory`: its path and record; None if none.

    The record (``run.json``) holds `run`'s arguments (``"arguments"``), the
    chunks and steps done and the running statistics.
    """
    found = _checkpoints(os.fspath(directory))
    if not found:
        return None
    path = found[-1][1]
    with open(os.path.join(path, _RECORD)) as f:
        return path, json.load(f)


def _remove(path: str) -> None:
    """Deletes a directory: renamed away first (atomically), so no half-deleted checkpoint keeps its name."""
    parent, name = os.path.split(path)
    trash = os.path.join(parent, f"{_TRASH_PREFIX}{name}-{os.getpid()}")
    os.rename(path, trash)
    shutil.rmtree(trash, ignore_errors=True)


def _save_checkpoint(checkpoint: Any, directory: str, tree: Any, record: dict[str, Any]) -> str:
    """Writes a checkpoint under a partial name, renames it into place, and prunes old ones.

    A kill at any point leaves the latest complete checkpoint as it was (the
    rename is atomic); a partial directory is ignored and deleted by the next run.
    """
    name = f"{CHECKPOINT_PREFIX}{record['steps_done']}"
    partial = tempfile.mkdtemp(prefix=f"{PARTIAL_PREFIX}{record['steps_done']}-", dir=directory)
    checkpoint.save(os.path.join(partial, _STATE), tree, overwrite=True)
    with open(os.path.join(partial, _RECORD), "w") as f:
        json.dump(record, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    final = os.path.join(directory, name)
    os.rename(partial, final)
    for _, old in _checkpoints(directory)[:-CHECKPOINTS_KEPT]:
        _remove(old)
    return final


def _clear_partials(directory: str) -> None:
    """Deletes what killed runs left half-written or half-deleted in `directory`."""
    for name in os.listdir(directory):
        if name.startswith((PARTIAL_PREFIX, _TRASH_PREFIX)):
            shutil.rmtree(os.path.join(directory, name), ignore_errors=True)


def _prepare_checkpoints(directory: str, arguments: dict[str, Any], resume: bool) -> dict[str, Any] | None:
    """Checks the checkpoint directory against the run (before any work); the record to resume from."""
    found = latest_checkpoint(directory)
    if not resume:
        if found is not None:
            raise ValueError(ERR_HAS_CHECKPOINTS.format(directory=directory, latest=found[0]))
        return None
    if found is None:
        raise ValueError(ERR_NOTHING_TO_RESUME.format(directory=directory))
    saved = found[1]["arguments"]
    for name, flag in _SAVED_ARGUMENTS.items():
        if arguments[name] != saved[name]:
            raise ValueError(ERR_CONTRADICTS.format(directory=directory, flag=flag, given=repr(arguments[name]),
                                                    saved=repr(saved[name])))
    return found[1]


def _import_checkpoint() -> Any:
    try:
        return importlib.import_module("jit_env.checkpoint")
    except ImportError as e:
        raise ImportError(ERR_NO_CHECKPOINT_EXTRA.format(error=e)) from e


def run(
    env_id: str,
    *,
    num_envs: int = 1024,
    steps: int = 1000,
    chunk: int = 100,
    seed: int = 0,
    gif: str | os.PathLike[str] | None = None,
    max_frames: int = 200,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    resume: bool = False,
    progress: bool = True,
    out: TextIO | None = None,
) -> RunResult:
    """A jitted, vectorised random-policy rollout of a registered environment, and its report.

    ``wrappers.wrap(jit_env.make(env_id), num_envs=num_envs)`` (time limit,
    episode statistics, same-step auto-reset) is stepped with uniformly random
    actions in `lax.scan` chunks of `chunk` steps, compiled before the clock
    starts; a tqdm bar advances per chunk. Then the throughput and the finished
    episodes' statistics are printed, and optionally one episode of the first
    environment is saved as a GIF.

    With `checkpoint_dir`, every `checkpoint_every` chunks (and after the last)
    the state, the key, the position in the loop and the running statistics are
    saved there (with `jit_env.checkpoint`, in a directory ``step-T`` renamed
    into place once complete; the last `CHECKPOINTS_KEPT` are kept). With
    `resume`, the run continues from the latest checkpoint there, and ends with
    the statistics of a run that never stopped.

    Args:
        env_id: A registered id, e.g. ``"CartPole-v1"``.
        num_envs: The batch size N.
        steps: Steps per environment.
        chunk: Steps per compiled `lax.scan`.
        seed: The PRNG seed.
        gif: Where to save a GIF of one episode (needs the video extra).
        max_frames: Frame cap of the GIF.
        checkpoint_dir: Where to save checkpoints (needs the checkpoint extra).
        checkpoint_every: Chunks between checkpoints (default 10).
        resume: Continue from the latest checkpoint in `checkpoint_dir`, which
            must have been saved with the same `env_id`, `num_envs`, `steps`,
            `chunk`, `seed` and `checkpoint_every`.
        progress: Show the progress bar (on stderr).
        out: Where to print the report (default stdout).

    Returns:
        The `RunResult`.

    Every argument is checked before any work starts.

    Raises:
        ValueError: If `env_id` is unknown (naming close matches), a count
            is not positive, `gif` is not a ``.gif`` path in an existing
            directory or the environment cannot render, `checkpoint_every` is
            given without `checkpoint_dir`, a fresh run's `checkpoint_dir`
            holds checkpoints, or a resumed one's holds none or was saved with
            other arguments.
        ImportError: If `gif` is given and Pillow is missing, or
            `checkpoint_dir` is given and orbax-checkpoint is missing.

    >>> import io
    >>> result = run("Catch-v0", num_envs=4, steps=20, chunk=10, progress=False, out=io.StringIO())
    >>> result.episodes, result.mean_length
    (8, 9.0)
    """
    from tqdm import tqdm

    out = sys.stdout if out is None else out
    for name, value in (("num_envs", num_envs), ("steps", steps), ("chunk", chunk), ("max_frames", max_frames),
                        ("checkpoint_every", checkpoint_every or 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"`{name}` {ERR_POSITIVE.format(value)}.")
    if checkpoint_dir is None and checkpoint_every is not None:
        raise ValueError(ERR_EVERY_NEEDS_DIR.format(every=checkpoint_every))
    if checkpoint_dir is None and resume:
        raise ValueError(ERR_RESUME_NEEDS_DIR)
    single = _registry.make(env_id)
    if gif is not None:
        _check_gif(env_id, single, gif)
    directory, record, checkpoint, every = None, None, None, 0
    arguments: dict[str, Any] = {"env_id": env_id, "num_envs": num_envs, "steps": steps, "chunk": chunk, "seed": seed,
                 "checkpoint_every": checkpoint_every}
    if checkpoint_dir is not None:
        directory = os.fspath(checkpoint_dir)
        every = DEFAULT_CHECKPOINT_EVERY if checkpoint_every is None else checkpoint_every
        arguments["checkpoint_every"] = every
        record = _prepare_checkpoints(directory, arguments, resume)
        checkpoint = _import_checkpoint()
    programs = _compile_programs(env_id, num_envs=num_envs, steps=steps, chunk=chunk, seed=seed)
    state, key, lengths = programs.state, programs.key, programs.lengths
    totals, first = _Totals(), 0
    if directory is not None:
        os.makedirs(directory, exist_ok=True)
        _clear_partials(directory)
    if record is not None:
        assert directory is not None and checkpoint is not None
        path = os.path.join(directory, f"{CHECKPOINT_PREFIX}{record['steps_done']}")
        restored = checkpoint.restore(os.path.join(path, _STATE), like={"state": state, "key": key})
        state, key = restored["state"], restored["key"]
        totals, first = _Totals(**record["statistics"]), record["chunks_done"]
        print(f"{env_id}: resumed at step {record['steps_done']} of {steps} from {path}", file=out)
    start_step = sum(lengths[:first])
    saving = 0.0  # Seconds spent writing checkpoints: not part of the throughput.
    # The bar counts environment steps (N per batch step), as the summary below does.
    with tqdm(total=num_envs * steps, initial=num_envs * start_step, desc=env_id, unit=" env steps",
              disable=not progress, file=sys.stderr) as bar:
        start = time.perf_counter()
        for i in range(first, len(lengths)):
            state, stats = programs.compiled[lengths[i]](state, key, np.int32(i))
            # np.asarray waits for the chunk: the bar shows real progress.
            totals.add(np.asarray(stats[0]), np.asarray(stats[1]), np.asarray(stats[2]))
            bar.update(lengths[i] * num_envs)
            done = i + 1
            if directory is not None and (done % every == 0 or done == len(lengths)):
                saving -= time.perf_counter()
                _save_checkpoint(checkpoint, directory, {"state": state, "key": key}, {
                    "format": _RECORD_FORMAT, "arguments": arguments, "chunks_done": done,
                    "steps_done": sum(lengths[:done]), "statistics": dataclasses.asdict(totals)})
                saving += time.perf_counter()
        seconds = time.perf_counter() - start - saving
    result = _result(env_id, num_envs, steps, start_step, seconds, totals)
    _report(result, out)
    if gif is not None:
        frames = save_episode_gif(env_id, gif, seed=seed, num_envs=num_envs, max_frames=max_frames)
        print(f"saved {frames} frames of the first environment's first episode to {os.fspath(gif)}",
              file=out)
    return result


def _result(env_id: str, num_envs: int, steps: int, start_step: int, seconds: float, totals: _Totals) -> RunResult:
    nan = float("nan")
    episodes = totals.episodes
    ran = num_envs * (steps - start_step)
    return RunResult(
        env_id=env_id, num_envs=num_envs, steps=steps, seconds=seconds,
        steps_per_second=ran / seconds if ran else nan, episodes=episodes,
        mean_return=totals.return_sum / episodes if episodes else nan,
        max_return=totals.return_max if totals.return_max is not None else nan,
        mean_length=totals.length_sum / episodes if episodes else nan, start_step=start_step)


def _report(result: RunResult, out: TextIO) -> None:
    """Prints `run`'s summary: throughput, then the finished episodes' statistics."""
    ran = result.steps - result.start_step
    after = f" (after step {result.start_step})" if result.start_step else ""
    print(f"{result.env_id}: {result.num_envs} envs x {ran} steps{after} = {result.num_envs * ran:,} env steps "
          f"in {result.seconds:.3f} s: {result.steps_per_second:,.0f} env steps/s (compiled before timing)",
          file=out)
    if result.episodes:
        print(f"episodes finished: {result.episodes}; return mean {result.mean_return:.2f}, max "
              f"{result.max_return:.2f}; length mean {result.mean_length:.1f}", file=out)
    else:
        print("episodes finished: 0 (run more steps)", file=out)


def _check_gif(env_id: str, env: _core.Environment[Any, Any, Any], gif: str | os.PathLike[str]) -> None:
    """Refuses, before any work, a GIF that could not be saved (`run`'s `gif`)."""
    path = os.fspath(gif)
    if os.path.splitext(path)[1].lower() != ".gif":
        raise ValueError(ERR_GIF_SUFFIX.format(path=path))
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ValueError(ERR_GIF_DIR.format(path=path, directory=directory))
    try:
        import PIL  # noqa: F401 -- fail before the rollout, not after it.
    except ImportError as e:
        raise ImportError(ERR_NO_VIDEO.format(error=e)) from e
    try:  # Shapes only: nothing is compiled or run.
        jax.eval_shape(lambda key: env.render(env.reset(key)[0]), jax.random.key(0))
    except NotImplementedError as e:
        raise ValueError(ERR_GIF_NO_RENDER.format(env_id=env_id, error=e)) from None


def save_episode_gif(env_id: str, path: str | os.PathLike[str], *, seed: int = 0, num_envs: int = 1,
                     max_frames: int = 200) -> int:
    """Plays the first environment's first episode of `run` (random actions) into a GIF.

    Returns:
        The number of frames saved: the first observation and one per step,
        at most `max_frames`.
    """
    from jit_env import utils

    env = _registry.make(env_id)
    key = jax.random.split(jax.random.key(seed), num_envs)[0]  # The first env's key, as Tile splits it.
    state, _ = env.reset(key)

    @jax.jit
    def play(state: Any, keys: jax.Array) -> Any:
        def body(carry: Any, key: jax.Array) -> Any:
            state, done = carry
            new_state, timestep = env.step(state, env.action_spec().sample(key))
            new_state = jax.tree_util.tree_map(lambda a, b: jnp.where(done, a, b), state, new_state)
            return (new_state, done | timestep.last()), (env.render(state), done)

        return jax.lax.scan(body, (state, jnp.zeros((), bool)), keys)[1]

    frames, finished = play(state, jax.random.split(jax.random.fold_in(key, 1), max_frames))
    finished = np.asarray(finished)
    count = int(np.argmax(finished)) + 1 if bool(np.any(finished)) else max_frames
    utils.save_video(np.asarray(frames[:count]), path, fps=30)
    return count


# ----------------------------------------------------------------------------- commands


def _list(args: argparse.Namespace) -> int:
    for env_id in _registry.registered_envs(include_hub=False):
        env = _registry.make(env_id)
        limit = _registry.spec(env_id).kwargs.get("max_episode_steps")
        print(f"{env_id}  (time limit: {limit if limit is not None else 'none, episodes end on their own'})")
        print(f"  observation: {env.observation_spec()!r}")
        print(f"  action:      {env.action_spec()!r}")
    # The hub's ids come from the static catalogue: nothing is imported or made here
    # (some libraries build datasets or compile models when made).
    for prefix, library in adapters.LIBRARIES.items():
        where = ("installed" if adapters.installed(prefix)
                 else f'not installed: pip install "jit_env[{library.extra}]"')
        print(f"\n{prefix} environments ({len(library.ids)}, {where}):")
        for name in library.ids:
            print(f"{prefix}/{name}  (time limit: {library.episode_limits.get(name, 'none, the library sets none')})")
    return 0


def _set_up_cache(args: argparse.Namespace) -> None:
    """Turns JAX's persistent compilation cache on (``--cache-dir``, default) or off (``--no-cache``)."""
    if args.no_cache:
        _cache.disable_compilation_cache()
    else:
        _cache.enable_compilation_cache(args.cache_dir)


def _run(args: argparse.Namespace) -> int:
    given = {"env_id": args.env_id, "num_envs": args.num_envs, "steps": args.steps, "chunk": args.chunk,
             "seed": args.seed, "checkpoint_every": args.checkpoint_every}
    directory = args.checkpoint_dir
    if args.resume is not None:
        if directory is not None and os.path.abspath(directory) != os.path.abspath(args.resume):
            raise UsageError(ERR_RESUME_DIR.format(resume=args.resume, directory=directory))
        directory = args.resume
        found = latest_checkpoint(directory)
        if found is None:
            raise UsageError(ERR_NOTHING_TO_RESUME.format(directory=directory))
        # What is not given comes from the checkpoint; what is given must agree with it (`run` checks).
        values = {name: found[1]["arguments"][name] if value is None else value for name, value in given.items()}
    else:
        if args.env_id is None:
            raise UsageError(ERR_NEEDS_ID)
        defaults = {name: parameter.default for name, parameter in inspect.signature(run).parameters.items()}
        values = {name: defaults.get(name) if value is None else value for name, value in given.items()}
    env_id = _registered(values.pop("env_id"))
    _set_up_cache(args)
    try:
        result = run(env_id, **values, gif=args.gif, max_frames=args.max_frames, checkpoint_dir=directory,
                     resume=args.resume is not None)
    except (ImportError, ValueError) as e:  # `run` checks every argument before any work.
        raise UsageError(str(e)) from None
    if args.json is not None:
        fields = {name: None if isinstance(value, float) and value != value else value  # NaN: null.
                  for name, value in dataclasses.asdict(result).items()}
        with open(args.json, "w") as f:
            json.dump(fields, f, indent=1)
    return 0


def _compile(args: argparse.Namespace) -> int:
    env_id = _registered(args.env_id)
    cache = _cache.enable_compilation_cache(args.cache_dir)
    programs = _compile_programs(env_id, num_envs=args.num_envs, steps=args.steps, chunk=args.chunk, seed=0)
    command = f"jit-env run {env_id} --num-envs {args.num_envs} --steps {args.steps} --chunk {args.chunk}"
    print(MSG_COMPILED.format(programs=1 + len(programs.compiled), command=command, cache=cache,
                              entries=len(os.listdir(cache))))
    return 0


def load_env(target: str) -> _core.Environment[Any, Any, Any]:
    """The environment named by ``MODULE:ATTR``, ``PATH.py[:ATTR]`` or a registered id.

    ATTR is an environment or a zero-argument factory returning one. The current
    directory is importable, as with ``python -m``; a ``PATH.py`` file is loaded
    as a module (its directory importable), and without ``:ATTR`` its one
    environment is taken: an `Environment` instance, or an `Environment`
    subclass defined in the file (called with no arguments).

    Raises:
        UsageError: If the module does not import, the attribute is missing or
            is not (and does not make) an environment, a file has no
            environment or several, or the id is unknown.
    """
    path, colon, attr = target.partition(":")
    if path.endswith(".py"):
        return _environment(_from_file(path, attr if colon else None), target)
    if ":" not in target:
        if target in _registry.registered_envs():
            return _registry.make(target)
        if "-v" in target:
            _registered(target)  # Raises, naming close matches.
        raise UsageError(ERR_TARGET.format(target))
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise UsageError(ERR_TARGET.format(target))
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as e:  # Whatever the module raises, it did not import.
        raise UsageError(ERR_IMPORT.format(module=module_name, error=f"{type(e).__name__}: {e}")) from None
    return _environment(_attribute(module, module_name, attr), target)


def _attribute(module: Any, module_name: str, attr: str) -> Any:
    """`module.attr`, where dots in `attr` reach into the module's attributes."""
    value = module
    for part in attr.split("."):
        if not hasattr(value, part):
            raise UsageError(ERR_NO_ATTR.format(module=module_name, attr=attr))
        value = getattr(value, part)
    return value


def _from_file(path: str, attr: str | None) -> Any:
    """The attribute `attr` of the Python file `path`, or its one environment if `attr` is None."""
    if not os.path.isfile(path):
        raise UsageError(ERR_NO_FILE.format(path=path))
    name = os.path.splitext(os.path.basename(path))[0]
    directory = os.path.dirname(os.path.abspath(path))
    if directory not in sys.path:
        sys.path.insert(0, directory)
    module = sys.modules.get(name)
    if module is None or os.path.abspath(getattr(module, "__file__", None) or "") != os.path.abspath(path):
        # Not imported yet (an import of the same file reuses it, as `import` would).
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None  # A .py path always has a source loader.
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # Dataclasses look their module up while the file runs.
        try:
            spec.loader.exec_module(module)
        except Exception as e:  # Whatever the file raises, it did not import.
            sys.modules.pop(name, None)
            raise UsageError(ERR_IMPORT.format(module=path, error=f"{type(e).__name__}: {e}")) from None
    if attr is not None:
        return _attribute(module, path, attr)
    found = [value for value in vars(module).values()
             if isinstance(value, _core.Environment)
             or (isinstance(value, type) and issubclass(value, _core.Environment) and value.__module__ == name)]
    if len(found) != 1:
        raise UsageError(ERR_ENVS_IN_FILE.format(path=path, found="no" if not found else "more than one"))
    return found[0]


def _environment(value: Any, target: str) -> _core.Environment[Any, Any, Any]:
    """`value` if it is an environment, else what calling it with no arguments returns."""
    if not isinstance(value, _core.Environment) and callable(value):
        try:
            value = value()
        except Exception as e:
            raise UsageError(ERR_FACTORY.format(target=target, error=f"{type(e).__name__}: {e}")) from None
    if not isinstance(value, _core.Environment):
        raise UsageError(ERR_NOT_AN_ENV.format(target=target, got=value))
    return value


def _check(args: argparse.Namespace) -> int:
    env = load_env(args.target)
    print(f"Checking {env!r} ({args.num_steps} random steps, seed {args.seed})")
    report = testing.run_checks(env, num_steps=args.num_steps, seed=args.seed, batch_size=args.batch_size,
                                rtol=args.rtol, atol=args.atol)
    width = max(len(r.name) for r in report)
    for result in report:
        message = f"  {result.message}" if result.message else ""
        print(f"{result.status}  {result.name:<{width}}{message}")
    failed = [r.name for r in report if r.status == testing.FAIL]
    if failed:
        print(f"{len(failed)} of {len(report)} checks failed: {', '.join(failed)}.")
        return 1
    print(f"All {len(report)} checks passed.")
    return 0


def _time_jit_env(env_id: str, num_envs: int, steps: int, seed: int) -> float:
    env = wrappers.wrap(_registry.make(env_id), num_envs=num_envs, jit=False)
    key = jax.random.key(seed)
    state, _ = jax.jit(env.reset)(key)
    compiled = jax.jit(_random_chunk(env, steps)).lower(state, key, np.int32(0)).compile()
    state, _ = jax.block_until_ready(compiled(state, key, np.int32(0)))  # A warm-up run.
    start = time.perf_counter()
    jax.block_until_ready(compiled(state, key, np.int32(1)))
    return num_envs * steps / (time.perf_counter() - start)


def _gymnasium_mode(env_id: str) -> str | None:
    """How Gymnasium vectorises `env_id` ("vector_entry_point" or "sync"); None if it has no such env."""
    import gymnasium

    spec = gymnasium.envs.registry.get(env_id)
    if spec is None:
        return None
    return "vector_entry_point" if spec.vector_entry_point is not None else "sync"


def _time_gymnasium(env_id: str, mode: str, num_envs: int, steps: int, seed: int) -> float:
    import gymnasium

    envs = gymnasium.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode)
    try:
        envs.reset(seed=seed)
        envs.action_space.seed(seed)
        envs.step(envs.action_space.sample())
        start = time.perf_counter()
        for _ in range(steps):
            envs.step(envs.action_space.sample())
        return num_envs * steps / (time.perf_counter() - start)
    finally:
        envs.close()


def _bench(args: argparse.Namespace) -> int:
    env_id = _registered(args.env_id)
    try:
        mode, missing = _gymnasium_mode(env_id), "no such Gymnasium env"
    except ImportError:  # Time jit_env alone, and say why.
        print(ERR_NO_GYMNASIUM, file=sys.stderr)
        mode, missing = None, "gymnasium not installed"
    theirs = f"gymnasium ({mode})" if mode else "gymnasium"
    print(f"{env_id}: random actions, {args.steps} steps per environment, steps/s measured side "
          f"by side in this run (jit_env compiled before timing)")
    print(f"{'num_envs':>9}  {'jit_env':>14}  {theirs:>30}  {'ratio':>8}")
    for num_envs in args.num_envs:
        ours = _time_jit_env(env_id, num_envs, args.steps, args.seed)
        if mode is None:
            print(f"{num_envs:>9}  {ours:>14,.0f}  {missing:>30}  {'-':>8}")
            continue
        gym = _time_gymnasium(env_id, mode, num_envs, args.steps, args.seed)
        print(f"{num_envs:>9}  {ours:>14,.0f}  {gym:>30,.0f}  {ours / gym:>7.1f}x")
    return 0


def _parser() -> argparse.ArgumentParser:
    cache_dir_help = f"JAX's persistent compilation cache (default {_cache.default_cache_dir()})"
    parser = argparse.ArgumentParser(
        prog="jit-env", description="List, run, compile, check and benchmark jit_env environments.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="registered environments, their specs and time limits")
    listing.set_defaults(func=_list)

    running = commands.add_parser("run", help="a jitted, vectorised random rollout with statistics")
    running.add_argument("env_id", metavar="ID", nargs="?", default=None,
                         help="a registered id, e.g. CartPole-v1 (with --resume: the saved one)")
    # The run's own arguments default to None: with --resume, what is left out comes from the checkpoint.
    running.add_argument("--num-envs", type=_positive_int, default=None, help="batch size (default 1024)")
    running.add_argument("--steps", type=_positive_int, default=None, help="steps per environment (1000)")
    running.add_argument("--chunk", type=_positive_int, default=None, help="steps per compiled lax.scan (100)")
    running.add_argument("--seed", type=int, default=None, help="the PRNG seed (0)")
    running.add_argument("--gif", default=None, metavar="PATH", help="save one episode here (video extra)")
    running.add_argument("--max-frames", type=_positive_int, default=200, help="frame cap of the GIF (200)")
    running.add_argument("--checkpoint-dir", default=None, metavar="DIR",
                         help="save checkpoints here (checkpoint extra), to continue with --resume DIR")
    running.add_argument("--checkpoint-every", type=_positive_int, default=None, metavar="K",
                         help=f"chunks between checkpoints ({DEFAULT_CHECKPOINT_EVERY}), and after the last")
    running.add_argument("--resume", default=None, metavar="DIR",
                         help="continue the run saved in DIR, with its arguments")
    running.add_argument("--json", default=None, metavar="PATH", help="also write the results here as JSON")
    caching = running.add_mutually_exclusive_group()
    caching.add_argument("--cache-dir", default=None, metavar="DIR", help=cache_dir_help)
    caching.add_argument("--no-cache", action="store_true", help="do not use the compilation cache")
    running.set_defaults(func=_run)

    compiling = commands.add_parser(
        "compile", help="compile what `run` with these arguments needs into the compilation cache")
    compiling.add_argument("env_id", metavar="ID", help="a registered id, e.g. CartPole-v1")
    compiling.add_argument("--num-envs", type=_positive_int, default=1024, help="batch size (default 1024)")
    compiling.add_argument("--steps", type=_positive_int, default=1000, help="steps per environment (1000)")
    compiling.add_argument("--chunk", type=_positive_int, default=100, help="steps per compiled lax.scan (100)")
    compiling.add_argument("--cache-dir", default=None, metavar="DIR", help=cache_dir_help)
    compiling.set_defaults(func=_compile)

    checking = commands.add_parser("check", help="run an environment through jit_env.testing.check_env")
    checking.add_argument("target", metavar="TARGET",
                          help="MODULE:ATTR or PATH.py[:ATTR] (an Environment or a zero-argument "
                               "factory; a file's one environment without :ATTR) or a registered id")
    checking.add_argument("--num-steps", type=_positive_int, default=100, help="rollout length (100)")
    checking.add_argument("--seed", type=int, default=0)
    checking.add_argument("--batch-size", type=_positive_int, default=3,
                          help="batch for Vmap-like environments (3)")
    for name, default in (("rtol", testing.JIT_RTOL), ("atol", testing.JIT_ATOL)):
        checking.add_argument(f"--{name}", type=_tolerance, default=default,
                              help=f"tolerance of the 'jit' check's float comparisons ({default:g})")
    checking.set_defaults(func=_check)

    benching = commands.add_parser("bench", help="throughput at several batch sizes, beside Gymnasium's")
    benching.add_argument("env_id", metavar="ID")
    benching.add_argument("--num-envs", type=_positive_ints, default=[64, 1024], metavar="N,N,...",
                          help="batch sizes (default 64,1024)")
    benching.add_argument("--steps", type=_positive_int, default=200, help="steps per environment (200)")
    benching.add_argument("--seed", type=int, default=0)
    benching.set_defaults(func=_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the ``jit-env`` command line and returns its exit status.

    0 on success, 1 when `check` finds a failure, 2 for bad arguments (an
    unknown id, a count <= 0, a module that does not import, a missing attribute,
    a GIF path that is not ``.gif`` or lies in no existing directory, a GIF of an
    environment that does not render, checkpoints without orbax-checkpoint, a
    ``--resume`` with no checkpoint or arguments that contradict it), all found
    before any work starts.

    >>> main(["run", "Nope-v0"])
    2
    """
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:  # argparse's own errors and --help.
        return e.code if isinstance(e.code, int) else 2
    try:
        status: int = args.func(args)
    except UsageError as e:
        print(ERR_USAGE.format(e), file=sys.stderr)
        return 2
    return status


__all__ = ["RunResult", "load_env", "main", "run", "save_episode_gif"]
