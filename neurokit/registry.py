"""A small registry per model family, so that saving and loading go through one place.

Each family (feature extractors, generators, semantic spaces, encoders) keeps
one :class:`Registry`. A class joins it with :meth:`Registry.register`; an
instance describes itself with ``get_config()`` (the JSON-able keyword
arguments that rebuild it); :meth:`Registry.config_of` wraps that description
with the family's one key, ``"class"``, holding the registered name; and
:meth:`Registry.build` turns such a config back into an object. The loader
only ever instantiates registered classes, so a file cannot make it import or
run arbitrary code (the way open_clip's factory resolves model names).

Examples
--------
>>> from neurokit.registry import Registry
>>> SHAPES = Registry("shape")
>>> @SHAPES.register("square")
... class Square:
...     def __init__(self, side=1.0):
...         self.side = side
...     def get_config(self):
...         return {"side": self.side}
>>> config = SHAPES.config_of(Square(2.0))
>>> config
{'class': 'square', 'side': 2.0}
>>> SHAPES.build(config).side
2.0
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from neurokit.exceptions import CheckpointError, InvalidParameterError

__all__ = ["CLASS_KEY", "Registry"]

#: The one config key that names a registered class, in every family.
CLASS_KEY = "class"

T = TypeVar("T", bound=type)


class Registry(Mapping[str, type]):
    """Named classes of one model family, with their builders.

    Parameters
    ----------
    family : str
        What the classes are ("feature extractor", "generator", ...), used in messages.

    Notes
    -----
    A registry is a read-only mapping from names to classes; entries are only
    added through :meth:`register`.
    """

    def __init__(self, family: str) -> None:
        self.family = family
        self._classes: dict[str, type] = {}
        self._builders: dict[str, Callable[..., Any]] = {}
        self._aliases: dict[str, str] = {}

    # Mapping interface -------------------------------------------------
    def __getitem__(self, name: str) -> type:
        return self._classes[self._aliases.get(name, name)]

    def __iter__(self) -> Iterator[str]:
        return iter(self._classes)

    def __len__(self) -> int:
        return len(self._classes)

    def __repr__(self) -> str:
        return f"Registry({self.family!r}, {sorted(self._classes)})"

    # Registration ------------------------------------------------------
    def register(self, name: str | None = None, *, builder: Callable[..., Any] | None = None,
                 aliases: tuple[str, ...] = ()) -> Callable[[T], T]:
        """Class decorator that adds a class under ``name`` (default: the class name).

        Parameters
        ----------
        name : str, optional
            The registered name written into configs.
        builder : callable, optional
            ``builder(**config)`` rebuilds an instance (default: the class itself,
            or its ``from_config`` classmethod when it has one).
        aliases : tuple of str
            Other names that older files used for the same class; they are read,
            never written.
        """

        def decorate(cls: T) -> T:
            key = name or cls.__name__
            if key in self._classes and self._classes[key] is not cls:
                raise InvalidParameterError(f"a {self.family} named {key!r} is already registered "
                                            f"({self._classes[key].__qualname__})")
            self._classes[key] = cls
            self._builders[key] = builder or getattr(cls, "from_config", cls)
            for alias in aliases:
                self._aliases[alias] = key
            return cls

        return decorate

    def name_of(self, obj: Any) -> str:
        """The registered name of ``obj``'s class (exact class match).

        Raises
        ------
        InvalidParameterError
            ``obj``'s class is not registered.
        """
        cls = obj if isinstance(obj, type) else type(obj)
        for key, registered in self._classes.items():
            if registered is cls:
                return key
        raise InvalidParameterError(
            f"{cls.__qualname__} is not a registered {self.family}; registered: {sorted(self._classes)}")

    # Configs -----------------------------------------------------------
    def config_of(self, obj: Any) -> dict[str, Any]:
        """``{"class": name, **obj.get_config()}``, the JSON-able description that :meth:`build` reads."""
        name = self.name_of(obj)
        config = dict(obj.get_config())
        if CLASS_KEY in config:
            raise InvalidParameterError(f"{type(obj).__qualname__}.get_config() must not use the key {CLASS_KEY!r}")
        return {CLASS_KEY: name, **config}

    def resolve(self, config: Mapping[str, Any], *, where: str = "config") -> str:
        """The registered name a config refers to (aliases resolved).

        Raises
        ------
        CheckpointError
            The config is not a mapping, has no ``"class"`` or names an unknown class.
        """
        if not isinstance(config, Mapping):
            raise CheckpointError(f"{where}: a {self.family} description must be a JSON object, "
                                  f"got {type(config).__name__}")
        name = config.get(CLASS_KEY)
        if not isinstance(name, str):
            raise CheckpointError(f"{where}: a {self.family} description needs a {CLASS_KEY!r} string, "
                                  f"got {name!r}")
        key = self._aliases.get(name, name)
        if key not in self._classes:
            raise CheckpointError(f"{where}: unknown {self.family} {name!r}; known: {sorted(self._classes)}")
        return key

    def build(self, config: Mapping[str, Any], *, where: str = "config", **overrides: Any) -> Any:
        """Rebuild an object from :meth:`config_of`'s output.

        Parameters
        ----------
        config : mapping
            ``{"class": name, **kwargs}``.
        where : str
            The file or field the config came from, named in errors.
        **overrides
            Keyword arguments that replace the config's (e.g. ``device``).

        Raises
        ------
        CheckpointError
            Unknown class, or the keyword arguments do not fit its builder.
        """
        key = self.resolve(config, where=where)
        kwargs = {k: v for k, v in config.items() if k != CLASS_KEY}
        kwargs.update(overrides)
        builder = self._builders[key]
        try:  # check the keywords against the builder's signature; errors raised inside it stay its own
            inspect.signature(builder).bind(**kwargs)
        except TypeError as exc:
            raise CheckpointError(f"{where}: cannot rebuild {self.family} {key!r} from {sorted(kwargs)} ({exc})") from exc
        return builder(**kwargs)
