"""The model-family registry: one config key, one describing method, only registered classes built."""

import pytest

from neurokit.exceptions import CheckpointError, InvalidParameterError
from neurokit.registry import CLASS_KEY, Registry


def _family():
    reg = Registry("shape")

    @reg.register("square", aliases=("Square",))
    class Square:
        def __init__(self, side=1.0):
            self.side = side

        def get_config(self):
            return {"side": self.side}

    @reg.register()
    class Circle:
        def __init__(self, radius):
            self.radius = radius

        @classmethod
        def from_config(cls, radius):
            return cls(radius * 1)

        def get_config(self):
            return {"radius": self.radius}

    return reg, Square, Circle


def test_round_trip_and_mapping():
    reg, Square, Circle = _family()
    assert sorted(reg) == ["Circle", "square"] and len(reg) == 2 and reg["Square"] is Square
    config = reg.config_of(Square(2.0))
    assert config == {CLASS_KEY: "square", "side": 2.0}
    assert reg.build(config).side == 2.0
    assert reg.build({"class": "Square", "side": 3.0}).side == 3.0  # an alias older files wrote
    assert reg.build(reg.config_of(Circle(4)), radius=5).radius == 5
    assert "shape" in repr(reg)


def test_unknown_and_bad_configs():
    reg, Square, _ = _family()
    for bad, match in [({"side": 1}, "needs a 'class'"), ({"class": "os.system"}, "unknown shape 'os.system'"),
                       ([1, 2], "must be a JSON object"), ({"class": "square", "colour": "red"}, "cannot rebuild")]:
        with pytest.raises(CheckpointError, match=match):
            reg.build(bad, where="model.json")

    class Other:
        def get_config(self):
            return {}

    with pytest.raises(InvalidParameterError, match="not a registered shape"):
        reg.config_of(Other())
    with pytest.raises(InvalidParameterError, match="already registered"):
        reg.register("square")(Other)


def test_an_error_inside_a_builder_is_not_relabelled():
    reg = Registry("shape")

    @reg.register("broken")
    class Broken:
        def __init__(self, side=1.0):
            raise TypeError("a bug inside the constructor")

        def get_config(self):
            return {}

    with pytest.raises(TypeError, match="a bug inside the constructor"):
        reg.build({"class": "broken", "side": 2.0})
