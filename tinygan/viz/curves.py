"""Training curves from a trainer's history (tinygan.gan.trainer.Trainer.history)."""
from __future__ import annotations


def losses_figure(history: dict, title: str = ""):
    """Two panels: D and G losses; mean D(x) and D(G(z)) (the log's averages)."""
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
    it = history["iteration"]
    a.plot(it, history["d_loss"], label="D loss")
    a.plot(it, history["g_loss"], label="G loss")
    a.set_xlabel("iteration")
    a.legend(frameon=False, fontsize=8)
    a.set_title(f"{title}: losses", fontsize=10)
    b.plot(it, history["d_real"], label="mean D(x)")
    b.plot(it, history["d_fake"], label="mean D(G(z))")
    b.axhline(0.5, color="0.6", ls=":", lw=1)
    b.set_ylim(-0.02, 1.02)
    b.set_xlabel("iteration")
    b.legend(frameon=False, fontsize=8)
    b.set_title("discriminator outputs", fontsize=10)
    fig.tight_layout()
    return fig
