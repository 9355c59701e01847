"""The quickstart example runs end to end (through `jit-env run`) and reports finished episodes."""

import quickstart
from PIL import Image


def test_quickstart__rolls_out_and_saves_a_gif(tmp_path, capsys):
    path = tmp_path / "episode.gif"
    result = quickstart.main(["--env", "Catch-v0", "--num-envs", "4", "--steps", "40", "--chunk", "20",
                              "--gif", str(path)])
    assert result.episodes == 16  # Catch episodes last 9 steps: 4 each in 40 steps.
    assert result.mean_length == 9.0
    with Image.open(path) as gif:  # The first observation and 9 steps.
        assert gif.n_frames == 10 and gif.size == (200, 400)
    out = capsys.readouterr().out
    assert "4 envs x 40 steps = 160 env steps in" in out and "env steps/s" in out
