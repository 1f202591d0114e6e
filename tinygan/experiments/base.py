"""The protocol every experiment follows, and what it is built into.

An experiment is one module of tinygan/experiments with
  - a frozen config dataclass (a subclass of ExperimentConfig): the only place its defaults
    live; every field is declared with `param(default, help, ...)`, and the `tinygan train`
    options, their --help text and the checks on their values are generated from the fields;
  - build(config, device) -> Experiment: models, optimizers, data sampler, hooks and trainer;
  - evaluate(exp) -> dict: its final metrics (JSON-ready);
  - draw(exp, n, seed, labels) -> a matplotlib Figure of samples (through tinygan.viz);
  - sample(exp, n, seed, labels) -> dict of arrays: raw samples, for anyone's own scoring;
  - optionally frame(exp) -> dict and animate(exp, frames) for a training animation.
The registry (tinygan/experiments/__init__.py) names them; the CLI, the lessons and the
benchmarks' reproduction scripts all build through it.
"""
from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field

import numpy as np

NONE = "none"  # how an option whose default is None is written on the command line


def param(default, help: str, choices=None, minimum=None, cli: bool = True):
    """A config field: its default, a help line, optionally the allowed values or a minimum.
    cli=False keeps a field out of the command line (a structural setting, e.g. which data
    set an experiment is)."""
    return field(default=default, metadata={"help": help, "choices": choices,
                                            "minimum": minimum, "cli": cli})


@dataclass(frozen=True)
class ExperimentConfig:
    """What every experiment's config has: a seed and a number of training iterations."""
    seed: int = param(0, "random seed: every random number of the run comes from it")
    steps: int = param(1000, "training iterations (Algorithm 1)", minimum=1)

    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            kind = _base_type(hints[f.name])
            if isinstance(value, list):  # JSON gives lists where tuples were saved
                object.__setattr__(self, f.name, value := tuple(value))
            if not _fits(value, hints[f.name]):
                raise TypeError(f"{type(self).__name__}: {f.name} must be "
                                f"{_describe(hints[f.name])}, got {value!r}")
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, f.name, float(value))
            meta = f.metadata
            if meta.get("choices") is not None and value not in meta["choices"]:
                raise ValueError(f"{type(self).__name__}: {f.name} must be one of "
                                 f"{list(meta['choices'])}, got {value!r}")
            if meta.get("minimum") is not None and value is not None and value < meta["minimum"]:
                raise ValueError(f"{type(self).__name__}: {f.name} must be >= {meta['minimum']}, "
                                 f"got {value!r}")
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{type(self).__name__}: {f.name} must be a finite number, "
                                 f"got {value!r}")

    def replace(self, **changes) -> "ExperimentConfig":
        """A copy with some fields changed (checked like a new config)."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ValueError(f"{type(self).__name__}: unknown setting(s) {unknown}; valid: "
                             f"{sorted(f.name for f in dataclasses.fields(self))}")
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "ExperimentConfig":
        """A config from saved values (config.json); unknown keys are an error naming them."""
        return cls().replace(**values)

    @classmethod
    def options(cls) -> list:
        """(name, type, default, help, choices) of every command-line setting, in field order:
        what `tinygan train NAME` offers."""
        hints = typing.get_type_hints(cls)
        return [(f.name, hints[f.name], f.default, f.metadata["help"], f.metadata["choices"])
                for f in dataclasses.fields(cls) if f.metadata.get("cli", True)]

    def changed(self) -> dict:
        """The settings that differ from the defaults."""
        default = type(self)()
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if getattr(self, f.name) != getattr(default, f.name)}


def _base_type(hint):
    """float for `float | None`, tuple for `tuple[float, float]`, else the hint itself."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1:
        return _base_type(args[0])
    return typing.get_origin(hint) or hint


def _fits(value, hint) -> bool:
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return any(_fits(value, a) for a in args)
    if hint is type(None):
        return value is None
    if typing.get_origin(hint) is tuple:
        return isinstance(value, tuple) and len(value) == len(args) and all(
            _fits(v, a) for v, a in zip(value, args))
    if hint is float:
        return isinstance(value, (int, float, np.integer, np.floating)) and \
            not isinstance(value, bool)
    if hint is int:
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    return isinstance(value, hint)


def _describe(hint) -> str:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(hint))
    if hint is type(None):
        return "None"
    if typing.get_origin(hint) is tuple:
        return f"a tuple of {len(typing.get_args(hint))} numbers"
    return f"a {hint.__name__}"


@dataclass(eq=False)
class Experiment:
    """An experiment built from its config: what build() returns and what a run steps.

    trainer owns the models, optimizers, random stream, counters, history and hooks (its
    state_dict is the run's whole state); generator is the user-facing G (G(z), or G(z, labels)
    for a conditional model); ema the hook averaging G's weights, when the recipe keeps one;
    parts holds whatever else the module's evaluate/draw/sample need (data, fixed noise)."""
    name: str
    config: ExperimentConfig
    device: str
    trainer: object
    generator: object
    module: types.ModuleType = field(repr=False)
    ema: object = None
    parts: dict = field(default_factory=dict, repr=False)

    animated = property(lambda self: hasattr(self.module, "frame"))

    def evaluate(self) -> dict:
        """The experiment's final metrics (a JSON-ready dict)."""
        return self.module.evaluate(self)

    def draw(self, n: int | None = None, seed: int = 1234, labels=None):
        """A matplotlib Figure of samples from the generator."""
        return self.module.draw(self, n=n, seed=seed, labels=labels)

    def sample(self, n: int, seed: int = 1234, labels=None) -> dict:
        """Raw samples as host arrays, e.g. {"images": (n, 1, 28, 28) float32 in [-1, 1]} or
        {"points": (n, 2)}, plus the labels asked for in a conditional model."""
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise ValueError(f"{self.name}: the number of samples must be a positive int, "
                             f"got {n!r}")
        return self.module.sample(self, n=int(n), seed=seed, labels=labels)

    def frame(self) -> dict:
        """One animation frame of the current state (host arrays and numbers)."""
        return self.module.frame(self)

    def animate(self, frames: list):
        """A matplotlib animation of the frames, or None when there are too few."""
        return self.module.animate(self, frames) if len(frames) > 1 else None

    def not_conditional(self, labels) -> None:
        """For unconditional experiments: refuse labels with an error that says why."""
        if labels is not None:
            raise ValueError(f"{self.name} is not conditional: labels only apply to a "
                             "conditional experiment (cgan)")
