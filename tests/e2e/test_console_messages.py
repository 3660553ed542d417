"""show_warnings / show_errors / silent govern every console message of the SDK: its warning
lines and the Python warnings it issues, against the real daemon."""

from __future__ import annotations

import warnings

import pytest

import trackd


def _situations(run: trackd.Run) -> None:
    """Things that warn: a step that goes back, a cloud URL given to save(), a deprecated
    Artifact argument (governed by the current run's settings)."""
    run.log({"a": 1}, step=5)
    run.log({"a": 2}, step=3)
    assert run.save("gs://bucket/weights.pt") == []
    trackd.Artifact("d", "dataset", incremental=True)


@pytest.mark.parametrize("settings", [{"show_warnings": False}, {"silent": True}])
def test_switched_off_warnings_print_nothing(clean_sdk, capsys, settings):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with trackd.init(project="msgs", settings=settings) as run:
            _situations(run)
        trackd.Settings(start_method="fork", **settings)
    assert [str(w.message) for w in caught] == []
    err = capsys.readouterr().err
    assert "WARNING" not in err and "cloud storage URL" not in err


def test_warnings_are_shown_by_default(clean_sdk, capsys):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with trackd.init(project="msgs") as run:
            _situations(run)
        trackd.Settings(start_method="fork")
    messages = [str(w.message) for w in caught]
    assert any("step" in m and "3" in m for m in messages), messages
    assert any("incremental=True" in m for m in messages), messages
    assert any("start_method" in m for m in messages), messages
    err = capsys.readouterr().err
    assert "trackd: WARNING gs://bucket/weights.pt is a cloud storage URL" in err


def test_setup_settings_govern_warnings_outside_a_run(clean_sdk):
    trackd.setup(trackd.Settings(show_warnings=False))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trackd.Artifact("d", "dataset", incremental=True)
    assert caught == []
    trackd.teardown()
    with pytest.warns(DeprecationWarning, match="incremental"):
        trackd.Artifact("d", "dataset", incremental=True)
