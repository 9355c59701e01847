"""Tests of the core interface: TimeStep, StepType, helpers, Environment, Wrapper."""

from __future__ import annotations

import configparser
import dataclasses
import pathlib
import pickle
import re
import subprocess
import sys

import _envs
import counting_env
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jit_env
from jit_env import _core, specs, wrappers
from jit_env.adapters import _catalogue


def test_step_type__int8_values_without_device_arrays():
    assert [StepType for StepType in (jit_env.StepType.FIRST, jit_env.StepType.MID, jit_env.StepType.LAST)] == [0, 1, 2]
    for value in (jit_env.StepType.FIRST, jit_env.StepType.MID, jit_env.StepType.LAST):
        assert isinstance(value, np.int8)
        assert not isinstance(value, jax.Array)


@pytest.mark.parametrize(
    "helper, step_type, discount",
    [
        (lambda: jit_env.restart(jnp.zeros(2)), 0, 1.0),
        (lambda: jit_env.transition(jnp.float32(1), jnp.zeros(2)), 1, 1.0),
        (lambda: jit_env.termination(jnp.float32(1), jnp.zeros(2)), 2, 0.0),
        (lambda: jit_env.truncation(jnp.float32(1), jnp.zeros(2)), 2, 1.0),
    ],
)
def test_helpers__step_type_discount_and_dtypes(helper, step_type, discount):
    ts = helper()
    assert ts.step_type.dtype == jnp.int8 and int(ts.step_type) == step_type
    assert float(ts.discount) == discount
    assert ts.discount.dtype == jnp.float32
    assert [bool(ts.first()), bool(ts.mid()), bool(ts.last())] == [step_type == i for i in range(3)]


def test_helpers__shape_and_dtype_arguments():
    ts = jit_env.restart(jnp.zeros(2), shape=(3,), dtype=jnp.float16)
    assert ts.reward.shape == (3,) and ts.reward.dtype == jnp.float16
    assert ts.discount.shape == (3,) and ts.discount.dtype == jnp.float16
    ts = jit_env.termination(jnp.zeros(3), jnp.zeros(2), shape=(3,))
    assert ts.discount.shape == (3,) and float(ts.discount.sum()) == 0.0
    ts = jit_env.truncation(jnp.zeros(3), jnp.zeros(2), discount=jnp.full(3, 0.5))
    assert float(ts.discount[0]) == 0.5


def test_helpers__keep_float32_under_x64():
    code = (
        "import jax; jax.config.update('jax_enable_x64', True); import jax.numpy as jnp, jit_env;"
        "ts = jit_env.restart(jnp.zeros(2)); t2 = jit_env.transition(jnp.float32(0), jnp.zeros(2));"
        "assert ts.reward.dtype == jnp.float32 and ts.discount.dtype == jnp.float32, ts;"
        "assert t2.discount.dtype == jnp.float32 and ts.step_type.dtype == jnp.int8"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_timestep__is_a_pytree_that_jit_vmap_and_scan_accept():
    ts = jit_env.transition(jnp.float32(1), {"a": jnp.zeros(2)}, extras={"info": jnp.ones(())})
    leaves = jax.tree_util.tree_leaves(ts)
    assert len(leaves) == 5
    doubled = jax.jit(lambda t: jax.tree_util.tree_map(lambda x: x * 2, t))(ts)
    assert float(doubled.reward) == 2.0 and isinstance(doubled, jit_env.TimeStep)
    batched = jax.vmap(lambda r: jit_env.transition(r, jnp.zeros(2)))(jnp.arange(3, dtype=jnp.float32))
    assert batched.step_type.shape == (3,)
    _, scanned = jax.lax.scan(lambda c, r: (c, jit_env.transition(r, jnp.zeros(2))), None, jnp.ones(4, jnp.float32))
    assert scanned.observation.shape == (4, 2)


def test_timestep__equality_ignores_extras_and_is_frozen():
    a = jit_env.transition(jnp.float32(1), jnp.arange(3), extras={"x": 1})
    b = jit_env.transition(jnp.float32(1), jnp.arange(3), extras={"x": 2})
    c = jit_env.transition(jnp.float32(2), jnp.arange(3))
    assert a == b
    assert a != c
    with pytest.raises(dataclasses.FrozenInstanceError, match=re.escape("cannot assign to field 'reward'")):
        a.reward = 3  # type: ignore[misc]
    replaced = dataclasses.replace(a, reward=jnp.float32(2))
    assert replaced == c


def test_timestep__pickles():
    ts = jit_env.restart(jnp.zeros(2), extras={"k": jnp.ones(())})
    assert pickle.loads(pickle.dumps(ts)) == ts


def test_environment__is_abstract():
    with pytest.raises(TypeError, match="abstract"):
        jit_env.Environment()  # type: ignore[abstract]


def test_environment__render_uses_injected_renderer_or_explains():
    env = counting_env.CountingEnv()
    state, _ = env.reset(jax.random.key(0))
    with pytest.raises(NotImplementedError) as info:
        env.render(state)
    assert str(info.value) == _core.ERR_NO_RENDERER.format("CountingEnv")

    class Rendered(counting_env.CountingEnv):
        def __init__(self):
            jit_env.Environment.__init__(self, renderer=lambda s: np.full((2, 2, 3), int(s.count), np.uint8))
            self.target = 3

    assert Rendered().render(state).shape == (2, 2, 3)


def test_environment__context_manager_closes_and_unwrapped_is_self():
    closed = []

    class Closing(counting_env.CountingEnv):
        def close(self):
            closed.append(True)

    with Closing() as env:
        assert env.unwrapped is env
    assert closed == [True]
    with wrappers.TimeLimit(Closing(), max_episode_steps=3):
        pass
    assert closed == [True, True]


def test_environment__str_and_repr():
    env = _envs.PointMass()
    assert str(env) == "PointMass"
    assert repr(env) == "PointMass()"
    wrapped = wrappers.Jit(wrappers.TimeLimit(env, max_episode_steps=3))
    assert str(wrapped) == "Jit(TimeLimit(PointMass))"
    assert repr(wrapped) == "Jit(TimeLimit(PointMass(), max_episode_steps=3))"


def test_wrapper__delegates_everything_and_rejects_non_envs():
    env = _envs.DictEnv()
    wrapper = jit_env.Wrapper(env)
    assert wrapper.env is env and wrapper.unwrapped is env
    assert specs.make_environment_spec(wrapper) == specs.make_environment_spec(env)
    _, t1 = wrapper.reset(jax.random.key(0))
    _, t2 = env.reset(jax.random.key(0))
    assert t1 == t2
    with pytest.raises(TypeError) as info:
        jit_env.Wrapper("CartPole")  # type: ignore[arg-type]
    assert str(info.value) == _core.ERR_NOT_AN_ENV.format("CartPole")


def test_wrapper__takes_a_renderer_keyword_as_in_0_1_5():
    env = _envs.PointMass()
    wrapper = jit_env.Wrapper(env, renderer=lambda state: state.position * 2)
    state, _ = wrapper.reset(jax.random.key(0))
    np.testing.assert_array_equal(wrapper.render(state), state.position * 2)
    # Past `env`, arguments are keyword-only: a positional renderer is Python's own TypeError.
    with pytest.raises(TypeError, match=re.escape("__init__() takes 2 positional arguments but 3 were given")):
        jit_env.Wrapper(env, lambda state: state)  # type: ignore[misc]


def test_replace_key__dataclass_namedtuple_dict_and_wrapper_states():
    key = jax.random.key(1)
    state, _ = wrappers.TimeLimit(_envs.PointMass(), max_episode_steps=2).reset(jax.random.key(0))
    assert _core.replace_key(state, key).key is key
    assert _core.replace_key({"key": 0, "x": 1}, key)["key"] is key
    with pytest.raises(TypeError) as info:
        _core.replace_key((1, 2), key)
    assert str(info.value) == _core.ERR_NO_KEY_FIELD.format("tuple")
    with pytest.raises(TypeError) as info:
        _core.state_key(object())
    assert str(info.value) == _core.ERR_NO_KEY.format("object")


def test_import__does_no_device_work_and_imports_no_bridged_library():
    code = (
        "import sys, jit_env, jit_env.wrappers, jit_env.specs\n"
        "from jax._src import xla_bridge\n"
        "assert not xla_bridge._backends, xla_bridge._backends\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('dm_env', 'gymnasium', 'gymnax')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# Every public name of jit_env 0.1.5, importable from the same place.
PUBLIC_0_1_5 = {
    "jit_env": ["__version__", "__version_info__", "Action", "State", "Observation", "Reward",
                "Discount", "EnvOptions", "specs", "wrappers", "compat", "Environment", "Wrapper",
                "StepType", "TimeStep", "restart", "termination", "transition", "truncation"],
    "jit_env.specs": ["Spec", "PrimitiveSpec", "CompositeSpec", "Array", "BoundedArray",
                      "DiscreteArray", "Tree", "Tuple", "Dict", "Batched", "reshape_spec",
                      "unpack_spec", "make_environment_spec", "EnvironmentSpec"],
    "jit_env.wrappers": ["Jit", "Vmap", "StopGradient", "BatchSpecMixin", "Tile", "ResetMixin",
                         "AutoReset", "VmapAutoReset", "TileAutoReset", "ExtendObservation"],
}


@pytest.mark.parametrize("module", sorted(PUBLIC_0_1_5))
def test_public_api__every_0_1_5_name_is_importable(module):
    import importlib

    mod = importlib.import_module(module)
    missing = [name for name in PUBLIC_0_1_5[module] if name != "compat" and not hasattr(mod, name)]
    assert not missing


# Names kept only so that jit_env 0.1.5 code runs: importable from the same place, but
# deprecated, so no `__all__` lists them (nor the API reference built from it).
DEPRECATED = {
    "jit_env.compat": ["make_deepmind_wrapper", "make_gymnasium_wrapper"],
    "jit_env.specs": ["PrimitiveSpec"],
    "jit_env.wrappers": ["BatchSpecMixin", "ResetMixin"],
}
PUBLIC_MODULES = ["jit_env", "jit_env.compat", "jit_env.envs", "jit_env.specs", "jit_env.testing",
                  "jit_env.utils", "jit_env.wrappers"]


def test_public_api__deprecated_names_import_but_no_all_lists_them():
    import importlib

    modules = {name: importlib.import_module(name) for name in PUBLIC_MODULES}
    for name, deprecated in DEPRECATED.items():
        assert all(getattr(modules[name], attribute) is not None for attribute in deprecated)
    # Every public module that has an `__all__` (jit_env.specs gets one in issue 17's Deliver 7).
    listing = {name: module.__all__ for name, module in modules.items() if hasattr(module, "__all__")}
    assert {"jit_env", "jit_env.compat", "jit_env.wrappers"} <= set(listing)
    deprecated_names = {name for names in DEPRECATED.values() for name in names}
    listed = {f"{name}.{attribute}" for name, names in listing.items() for attribute in names
              if attribute in deprecated_names}
    assert not listed


def test_public_api__all_is_sorted_and_resolves():
    for module in (jit_env, jit_env.compat, jit_env.envs, jit_env.testing, jit_env.wrappers):
        # isort style, as ruff's RUF022 keeps it: CONSTANTS, then Classes, then the rest.
        def kind(name):
            return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

        assert module.__all__ == sorted(module.__all__, key=kind)
        for name in module.__all__:
            try:
                assert getattr(module, name) is not None
            except ImportError as e:  # A bridge whose library this environment lacks names its extra.
                assert 'pip install "jit_env[' in str(e), e


def test_public_api__state_dataclass_and_field_are_public():
    @jit_env.dataclass
    class State:
        key: jax.Array
        count: jax.Array
        limit: int = jit_env.field(static=True, default=3)

    state = State(jax.random.key(0), jnp.zeros((), jnp.int32))
    batched = jax.vmap(lambda k: State(k, jnp.zeros((), jnp.int32)))(jax.random.split(jax.random.key(0), 4))
    stepped = jax.jit(lambda s: dataclasses.replace(s, count=s.count + s.limit))(state)
    assert int(stepped.count) == 3 and stepped.limit == 3
    assert batched.count.shape == (4,)
    assert [leaf.shape for leaf in jax.tree_util.tree_leaves(state)] == [(), ()]
    with pytest.raises(dataclasses.FrozenInstanceError, match=re.escape("cannot assign to field 'count'")):
        state.count = 1  # type: ignore[misc]


class _Typed015(jit_env.Environment[dict, jax.Array, jax.Array, jax.Array, jax.Array]):
    """An annotation jit_env 0.1.5 code writes: five type parameters."""


def test_public_api__generic_arity_of_0_1_5():
    # 0.1.5: Environment/Wrapper[State, Action, Observation, Reward, Discount] and
    # TimeStep[Observation, Reward, Discount, StepType]; the short forms stay valid.
    assert _Typed015.__orig_bases__[0].__args__[3] is jax.Array
    jit_env.Wrapper[dict, jax.Array, jax.Array, jax.Array, jax.Array]
    jit_env.TimeStep[jax.Array, jax.Array, jax.Array, jax.Array]
    assert jit_env.Environment[dict, int, int].__args__[:3] == (dict, int, int)
    assert jit_env.TimeStep[jax.Array].__args__[0] is jax.Array


ROOT = pathlib.Path(__file__).resolve().parents[1]
# The extras of an install command: `jit_env[<extras>]` or `.[<extras>]`.
INSTALL_EXTRAS = re.compile(r"(?:jit_env|\.)\[([A-Za-z0-9_.,-]+)\]")


def test_install__every_extra_a_command_names_is_declared_as_pip_normalises_it():
    # pip 23.2 looks an extra up by the name as typed, while the wheel's metadata holds the
    # PEP 685 normalised name: `pip install "jit_env[dm_env]"` installed nothing there.
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    declared = set(config["options.extras_require"])
    named = {extra for _, extra in jit_env.compat._DEPENDENCIES.values()}
    named |= {library.extra for library in _catalogue.LIBRARIES.values()}
    tox = configparser.ConfigParser()
    tox.read(ROOT / "tox.ini")
    for section in tox.sections():
        named |= {extra.strip() for extra in tox[section].get("extras", "").split(",") if extra.strip()}
    sources = [*ROOT.glob("jit_env/**/*.py"), *ROOT.glob("docs/*.md"), *ROOT.glob("examples/*.py"),
               *ROOT.glob("benchmarks/*.py"), ROOT / "README.md"]
    for path in sources:
        for match in INSTALL_EXTRAS.finditer(path.read_text()):
            named |= {extra.strip() for extra in match.group(1).split(",")}
    assert {"gymnax", "video", "test"} <= named  # the scan found the commands
    assert {extra for extra in named | declared if extra != re.sub(r"[-_.]+", "-", extra).lower()} == set()
    assert named - declared == set()


class _DictKeyEnv(jit_env.Environment):
    """A state that is a plain dict with a "key" entry (which the key helpers accept)."""

    def reset(self, key, *, options=None):
        key, draw = jax.random.split(key)
        state = {"key": key, "t": jnp.zeros((), jnp.int32), "x": jax.random.uniform(draw, (1,))}
        return state, jit_env.restart(state["x"])

    def step(self, state, action):
        key, draw = jax.random.split(state["key"])
        state = {"key": key, "t": state["t"] + 1, "x": state["x"] + jax.random.uniform(draw, (1,))}
        return state, jax.lax.cond(state["t"] >= 3, lambda: jit_env.termination(jnp.float32(1), state["x"]),
                                   lambda: jit_env.transition(jnp.float32(1), state["x"]))

    def observation_spec(self):
        return specs.Array((1,), jnp.float32)

    def action_spec(self):
        return specs.DiscreteArray(2)

    def reward_spec(self):
        return specs.Array((), jnp.float32)

    def discount_spec(self):
        return specs.BoundedArray((), jnp.float32, 0.0, 1.0)


def test_wrapper_state__reads_the_key_of_a_dict_state_under_wrap():
    # Before: "EpisodeStatisticsState carries no PRNG key" at the first auto-reset.
    env = wrappers.wrap(_DictKeyEnv(), num_envs=2, max_episode_steps=5)
    state, _ = env.reset(jax.random.key(0))
    assert _core.state_key(state).shape == (2,)
    for _ in range(3):
        state, timestep = env.step(state, jnp.zeros(2, jnp.int32))
    np.testing.assert_array_equal(timestep.extras["episode"]["length"], [3, 3])
    np.testing.assert_array_equal(timestep.extras["episode"]["done"], [True, True])
    state, timestep = env.step(state, jnp.zeros(2, jnp.int32))  # The new episodes run on.
    np.testing.assert_array_equal(timestep.extras["episode"]["length"], [1, 1])
    inner = wrappers.EpisodeStatistics(_DictKeyEnv())
    state, _ = inner.reset(jax.random.key(1))
    assert state.key is state.inner["key"] and state.options is None
