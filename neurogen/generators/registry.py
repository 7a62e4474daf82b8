"""The generator registry: how a saved description names and rebuilds an image generator.

Every generator that can be rebuilt offline joins :data:`GENERATORS` (its
module registers it) and describes itself with ``get_config()``: the
JSON-able keyword arguments from which its registered builder rebuilds it,
weights included (the file its weights came from; a generator whose weights
are a random initialisation has no such file and its config cannot be
built). :func:`generator_config` gives ``{"class": name, **get_config()}``
and :func:`generator_from_config` turns it back into a generator.

Descriptions written before the registry are the generators' ``describe()``
output, whose ``"type"`` key names the class; :func:`generator_from_config`
still reads them (:data:`LEGACY_CONFIG_KEYS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from neurokit.exceptions import CheckpointError, InvalidParameterError
from neurokit.registry import CLASS_KEY, Registry

__all__ = ["GENERATORS", "LEGACY_CONFIG_KEYS", "RANDOM_WEIGHTS", "generator_config", "generator_from_config",
           "weights_file"]

#: The image generators that saved descriptions can name.
GENERATORS = Registry("generator")

#: ``source`` of a generator whose weights no file holds.
RANDOM_WEIGHTS = "random initialisation"

#: Keys of an old description (``describe()`` output with ``"type"``) that carried each generator's config.
LEGACY_CONFIG_KEYS: dict[str, tuple[str, ...]] = {
    "FourierImage": ("image_size", "decay_power", "decorrelate_colors", "init_std"),
    "FeatureInversionGenerator": ("weights",),
    "DCGANFaceGenerator": ("weights",),
    "BigGANGenerator": ("weights", "truncation"),
    "ICGANGenerator": ("weights", "architecture", "truncation"),
}


def weights_file(weights: Any, family: str) -> str:
    """The weights file a generator's config names.

    Parameters
    ----------
    weights : str
        The ``"weights"`` entry of the config (a path, or :data:`RANDOM_WEIGHTS`).
    family : str
        The generator's name, used in the message.

    Raises
    ------
    CheckpointError
        The generator had random weights (no file), or ``weights`` is not a path.
    """
    if not isinstance(weights, str) or not weights or weights == RANDOM_WEIGHTS:
        raise CheckpointError(f"a {family} with weights {weights!r} (no weights file) cannot be rebuilt from its config")
    return weights


def generator_config(generator: nn.Module) -> dict[str, Any]:
    """``{"class": name, **generator.get_config()}`` of a registered generator.

    A generator outside the registry (a :class:`~neurogen.generators.ModuleGenerator`,
    any ``nn.Module``) is described by its class name only, which
    :func:`generator_from_config` refuses to build.
    """
    try:
        return GENERATORS.config_of(generator)
    except InvalidParameterError:
        return {CLASS_KEY: type(generator).__name__}


def generator_from_config(config: Mapping[str, Any], *, where: str = "generator") -> nn.Module:
    """Rebuild a generator from :func:`generator_config`'s output (or an old ``describe()`` output).

    Parameters
    ----------
    config : mapping
        ``{"class": name, **kwargs}``; an old description ``{"type": name, ...}``
        is read through :data:`LEGACY_CONFIG_KEYS`.
    where : str
        The file or field the config came from, named in errors.

    Raises
    ------
    CheckpointError
        Unknown or unregistered class, a config that does not fit its builder
        or holds invalid values, random weights, or weights that cannot be read.
    """
    if isinstance(config, Mapping) and CLASS_KEY not in config and isinstance(config.get("type"), str):
        name = config["type"]
        config = {CLASS_KEY: name, **{k: config[k] for k in LEGACY_CONFIG_KEYS.get(name, ()) if k in config}}
    try:
        return GENERATORS.build(config, where=where)
    except ValueError as exc:  # InvalidParameterError, DataValidationError: a value the constructor refuses
        raise CheckpointError(f"{where}: invalid {config.get(CLASS_KEY)} config {dict(config)!r} ({exc})") from exc
