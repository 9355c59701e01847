"""Rendering: pure-JAX frames of the declared size, that follow the state, under jit and vmap."""

import jax
import numpy as np
import pytest
from PIL import Image

import jit_env
from jit_env import utils, wrappers

SIZES = {
    "Acrobot-v1": (500, 500),
    "CartPole-v1": (400, 600),
    "Catch-v0": (400, 200),
    "DeepSea-v0": (200, 200),
    "MountainCar-v0": (400, 600),
    "MountainCarContinuous-v0": (400, 600),
    "Pendulum-v1": (500, 500),
}


def test_sizes__cover_every_registered_env():
    # Other tests register user environments into the same registry: compare built-ins only.
    built_ins = [i for i in jit_env.registered_envs(include_gymnax=False)
                 if type(jit_env.make(i).unwrapped).__module__.startswith("jit_env.envs.")]
    assert sorted(SIZES) == built_ins


@pytest.mark.parametrize("env_id", sorted(SIZES))
def test_render__jit_and_vmap_frames_follow_the_state(env_id):
    env = wrappers.Vmap(jit_env.make(env_id))

    @jax.jit
    def run(keys):  # One compiled function per env: reset, step, render batch and slice.
        state, _ = env.reset(keys)
        actions = jax.vmap(env.action_spec().sample)(keys)
        for _ in range(3):
            state, _ = env.step(state, actions)
        return env.render(state), env.env.render(jax.tree_util.tree_map(lambda x: x[1], state))

    frames, single = jax.device_get(run(jax.random.split(jax.random.key(0), 2)))
    height, width = SIZES[env_id]
    assert frames.shape == (2, height, width, 3) and frames.dtype == np.uint8
    np.testing.assert_array_equal(single, frames[1])
    assert len(np.unique(frames[0].reshape(-1, 3), axis=0)) >= 2  # Something is drawn.
    assert not np.array_equal(frames[0], frames[1])  # Different states, different pictures.


def test_save_video__writes_a_gif_of_rendered_frames(tmp_path):
    env = jit_env.make("Catch-v0")
    state, _ = env.reset(jax.random.key(0))
    frames = [np.asarray(env.render(state))]
    state, _ = env.step(state, np.int32(0))
    frames.append(np.asarray(env.render(state)))
    path = tmp_path / "catch.gif"
    utils.save_video(np.stack(frames), path, fps=5)
    with Image.open(path) as gif:
        assert gif.n_frames == 2 and gif.size == (200, 400)


@pytest.mark.parametrize("frames", [
    np.zeros((2, 4, 4, 3), np.float32), np.zeros((4, 4, 3), np.uint8), np.zeros((0, 4, 4, 3), np.uint8)])
def test_save_video__rejects_bad_frames(frames, tmp_path):
    with pytest.raises(ValueError) as info:
        utils.save_video(frames, tmp_path / "x.gif")
    assert str(info.value) == utils.ERR_FRAMES.format(f"dtype {frames.dtype} and shape {frames.shape}")


def test_save_video__rejects_unknown_suffix_and_fps(tmp_path):
    frames = np.zeros((1, 4, 4, 3), np.uint8)
    with pytest.raises(ValueError) as info:
        utils.save_video(frames, tmp_path / "x.avi")
    assert str(info.value) == utils.ERR_SUFFIX.format(str(tmp_path / "x.avi"))
    with pytest.raises(ValueError) as info:
        utils.save_video(frames, tmp_path / "x.gif", fps=0)
    assert str(info.value) == utils.ERR_FPS.format(0)


def test_save_video__mp4_without_ffmpeg_says_how_to_install(tmp_path):
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError) as info:
            utils.save_video(np.zeros((1, 4, 4, 3), np.uint8), tmp_path / "x.mp4")
        assert str(info.value) == utils.ERR_NO_FFMPEG
    else:
        utils.save_video(np.zeros((2, 16, 16, 3), np.uint8), tmp_path / "x.mp4")
        assert (tmp_path / "x.mp4").stat().st_size > 0
