"""The experiments, by name: what `tinygan train NAME`, the lessons and the reproduction scripts
build. Each is a module here following the protocol of tinygan.experiments.base (a frozen
config dataclass holding its defaults; build, evaluate, draw, sample); adding one is a new
module and one line in REGISTRY.

    exp = experiments.build("ring", steps=500, seed=1)
    exp.trainer.fit(exp.config.steps)
    exp.evaluate()                     # {"modes_captured": ..., "high_quality_fraction": ...}
    exp.sample(1000)                   # {"points": (1000, 2) float32}
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import creation
from . import (coarse, conditioning, cyclegan, digits, latent, pix2pix, sagan, srgan,
               stackgan, thickness, toy1d, toy2d)
from .base import Experiment, ExperimentConfig, param

__all__ = ["REGISTRY", "Spec", "get", "build", "Experiment", "ExperimentConfig", "param"]


@dataclass(frozen=True)
class Spec:
    """A registry entry: the experiment's name, its module and its config class."""
    name: str
    module: object
    config: type

    @property
    def summary(self) -> str:
        return (self.config.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")

    def make_config(self, config=None, **overrides) -> ExperimentConfig:
        """A config from an instance, a dict of values (e.g. config.json's) or the defaults,
        with `overrides` applied; unknown names are an error that lists the valid ones."""
        if isinstance(config, ExperimentConfig):
            if type(config) is not self.config:
                raise TypeError(f"{self.name} takes a {self.config.__name__}, got a "
                                f"{type(config).__name__}")
            return config.replace(**overrides) if overrides else config
        values = {**(config or {}), **overrides}
        return self.config.from_dict(values)

    def build(self, config=None, device=None, **overrides) -> Experiment:
        config = self.make_config(config, **overrides)
        # every random number of a run comes from its seed: the shared generators too (Dropout
        # draws from them), so that a resumed run can restore them exactly
        creation.manual_seed(config.seed)
        exp = self.module.build(config, device)
        exp.name = self.name
        return exp


REGISTRY = {spec.name: spec for spec in (
    Spec("toy1d", toy1d, toy1d.Toy1DConfig),
    Spec("ring", toy2d, toy2d.Toy2DConfig),
    Spec("grid", toy2d, toy2d.GridConfig),
    Spec("mnist-mlp", digits, digits.DigitsConfig),
    Spec("dcgan", digits, digits.DCGANConfig),
    Spec("cgan", digits, digits.CGANConfig),
    Spec("dcgan-sn", digits, digits.DCGANSNConfig),
    Spec("dcgan-gp", digits, digits.DCGANGPConfig),
    Spec("acgan", conditioning, conditioning.ACGANConfig),
    Spec("projection", conditioning, conditioning.ProjectionConfig),
    Spec("controlgan", conditioning, conditioning.ControlGANConfig),
    Spec("biggan", conditioning, conditioning.BigGANConfig),
    Spec("infogan", latent, latent.InfoGANConfig),
    Spec("thickness", thickness, thickness.ThicknessConfig),
    Spec("sagan", sagan, sagan.SAGANConfig),
    Spec("lapgan", coarse, coarse.LAPGANConfig),
    Spec("progressive", coarse, coarse.ProgressiveConfig),
    Spec("stackgan", stackgan, stackgan.StackGANConfig),
    Spec("srgan", srgan, srgan.SRGANConfig),
    Spec("pix2pix", pix2pix, pix2pix.Pix2PixConfig),
    Spec("cyclegan", cyclegan, cyclegan.CycleGANConfig),
)}


def get(name: str) -> Spec:
    """The registry entry named `name` (an error listing the valid names otherwise)."""
    if name not in REGISTRY:
        raise ValueError(f"unknown experiment {name!r}; valid: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def build(name: str, config=None, device=None, **overrides) -> Experiment:
    """The experiment `name` built from `config` (a config instance or a dict; default: its
    defaults) with `overrides`, on `device`."""
    return get(name).build(config, device, **overrides)
