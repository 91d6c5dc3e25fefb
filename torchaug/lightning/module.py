"""``ClassifierModule``: a LightningModule that owns device-side augmentation.

Data flow per training batch: ``on_after_batch_transfer`` runs :meth:`augment`
(transforms on the uint8 batch, conversion to float, the mixer, normalisation), then
``training_step`` runs the model (feature hooks fire inside it), lets the hook mix the targets
(mixer first, hook second) and computes soft-target cross-entropy.

Override points for subclasses:

- :meth:`augment` ``(x, y) -> (x, y_soft)``: the whole training-time augmentation.
- :meth:`prepare` ``(x) -> x``: conversion and normalisation (also used in evaluation).
- :meth:`compute_loss` ``(logits, y_soft) -> loss``.
- :meth:`configure_optimizers` as usual; the default builds ``optimizer``/``scheduler`` partials.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from torchaug.mixing import JsdCrossEntropy, SoftTargetCrossEntropy, mixing_stats, one_hot
from torchaug.seeding import make_generator, per_rank_state, rank_state

log = logging.getLogger(__name__)


class ClassifierModule(L.LightningModule):
    """Train a classifier with transforms, a mixer and feature hooks applied on the device.

    Args:
        model: the network, ``(B, ...) -> (B, num_classes)``.
        num_classes: number of classes ``K``.
        optimizer: ``params -> Optimizer`` (a Hydra ``_partial_``).
        scheduler: ``optimizer -> LRScheduler`` or None; stepped per epoch.
        transforms: callable ``(x_uint8, generator=) -> x_uint8`` (e.g. ``torchaug.transforms.Compose``).
        mixer: a ``torchaug.mixing`` mixer or None; runs after transforms, on float images.
        hook: ``model -> hook`` (a partial of ``torchaug.hooks.MoEx``/``ManifoldMixup``) or None.
        mean, std: per-channel normalisation applied after augmentation (None: none).
        label_smoothing: applied to targets when no mixer does it.
        seed: seeds the augmentation generator, together with the process rank.
        share_mixer_perm: let the hook reuse the mixer's pairing of the same step (as the official
            MoEx+CutMix code does) instead of drawing its own.
        compile: run the model through ``torch.compile`` (``True``, or a dict of its keyword
            arguments, e.g. ``{"backend": "aot_eager", "mode": "max-autotune"}``). The hook is
            attached to the eager model first, so layer names stay ``layer1``...; the compiled
            wrapper is not a submodule, so checkpoints keep the eager ``model.*`` keys.
        num_splits: 0 (default): plain training. ``n >= 2``: AugMix's JSD training (Hendrycks et al.
            2020; timm's ``--aug-splits n --jsd-loss``): ``transforms`` must return the split batch
            ``(n * B, ...)`` ``[clean; view_1; ...]`` (:class:`torchaug.transforms.AugMix` with
            ``num_splits=n`` last), the labels are repeated per split and the loss is
            :class:`torchaug.mixing.JsdCrossEntropy` (cross-entropy on the clean split, label
            smoothing folded into its targets, plus ``jsd_alpha`` times the JSD of the splits).
            No mixer or feature hook with it.
        jsd_alpha: weight of the consistency term (the paper's and timm's 12).
    """

    def __init__(
        self,
        model: nn.Module,
        num_classes: int,
        optimizer: Callable[..., torch.optim.Optimizer] | None = None,
        scheduler: Callable[..., Any] | None = None,
        transforms: Callable[..., Tensor] | None = None,
        mixer: nn.Module | None = None,
        hook: Callable[[nn.Module], Any] | None = None,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        label_smoothing: float = 0.0,
        seed: int = 0,
        share_mixer_perm: bool = False,
        compile: bool | Mapping[str, Any] = False,
        num_splits: int = 0,
        jsd_alpha: float = 12.0,
    ) -> None:
        super().__init__()
        if isinstance(num_splits, bool) or not isinstance(num_splits, int) or num_splits < 0 or num_splits == 1:
            raise ValueError(f"ClassifierModule: num_splits must be 0 (off) or an int >= 2 (clean + augmented views); "
                             f"got {num_splits!r}")
        if num_splits and (mixer is not None or hook is not None):
            raise ValueError("ClassifierModule: num_splits (AugMix JSD training) cannot be combined with a mixer or a "
                             f"feature hook; got mixer={type(mixer).__name__ if mixer is not None else None}, "
                             f"hook={'set' if hook is not None else None}")
        self.num_splits = num_splits
        self.model = model
        self.num_classes = num_classes
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.transforms = transforms
        self.mixer = mixer
        self.hook = hook(model) if hook is not None else None
        if not isinstance(compile, (bool, Mapping)):
            raise TypeError(f"ClassifierModule: compile must be a bool or a dict of torch.compile arguments; got {compile!r}")
        # kept out of the module tree (no "_orig_mod" keys in state dicts); forward() calls it
        compiled = torch.compile(model, **(dict(compile) if isinstance(compile, Mapping) else {})) if compile else None
        object.__setattr__(self, "_compiled_model", compiled)
        self.label_smoothing = label_smoothing
        self.seed = seed
        self.share_mixer_perm = share_mixer_perm
        self._mixer_perm: Tensor | None = None
        self.criterion = (JsdCrossEntropy(num_splits, jsd_alpha, smoothing=0.0) if num_splits
                          else SoftTargetCrossEntropy())
        self.register_buffer("mean", None if mean is None else torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", None if std is None else torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))
        self.aug_generator: torch.Generator | None = None
        self._pending_rng: dict[str, Any] | None = None
        self._aug_totals: dict[str, Tensor] = {}

    # -- augmentation -----------------------------------------------------------------
    def prepare(self, x: Tensor) -> Tensor:
        """uint8 -> float in [0, 1], then per-channel normalisation (images only)."""
        if x.dtype == torch.uint8:
            x = x.float().div_(255)
        if self.mean is not None and x.ndim == 4:
            x = (x - self.mean) / self.std
        return x

    def augment(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """Training-time augmentation on the device: transforms, float conversion, mixer, normalisation."""
        g = self.aug_generator
        b = len(x)  # a batch tensor or a ragged list of images
        if self.transforms is not None:
            x = self.transforms(x, generator=g)
        if self.num_splits:
            if x.shape[0] != self.num_splits * b:
                raise ValueError(f"ClassifierModule: num_splits={self.num_splits} needs transforms that return the split "
                                 f"batch ({self.num_splits} * B = {self.num_splits * b} rows, e.g. AugMix(num_splits="
                                 f"{self.num_splits}) last); got {x.shape[0]} rows for a batch of {b}")
            y = y.repeat(self.num_splits, *([1] * (y.ndim - 1)))
        if x.dtype == torch.uint8:
            x = x.float().div_(255)
        if self.mixer is not None:
            x, y, params = self.mixer(x, y, generator=g, return_params=True)
            self._mixer_perm = params["perm"]
            self._accumulate(getattr(self.mixer, "last_stats", None), "mixer")
        y = one_hot(y, self.num_classes, label_smoothing=self.label_smoothing if y.ndim == 1 else 0.0)
        return self.prepare(x), y

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        if len(batch) == 3 and isinstance(batch[2], Mapping):  # mixed in the workers: AugmentCollate(return_params=True)
            x, y, params = batch
            if "mixed" in params and "lam" in params:
                self._accumulate(mixing_stats(params), "mixer")
        else:
            x, y = batch
        training = self._trainer is not None and self._trainer.training
        if isinstance(x, list):  # a ragged or encoded batch (streaming image folders, shards)
            x = self.images_from_list(x, training)
        if training:
            return self.augment(x, y)
        return self.prepare(x), y

    def transfer_batch_to_device(self, batch: Any, device: torch.device, dataloader_idx: int) -> Any:
        """Encoded batches (lists of JPEG bytes) stay on the host: ``decode_jpeg`` copies them to the GPU itself."""
        from torchaug.data.decode import is_encoded_batch

        if isinstance(batch, (tuple, list)) and len(batch) == 2 and is_encoded_batch(batch[0]):
            return batch[0], super().transfer_batch_to_device(batch[1], device, dataloader_idx)
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

    def images_from_list(self, x: list[Tensor], training: bool) -> Tensor | list[Tensor]:
        """A list of images of any sizes (or of encoded bytes, decoded here on the device, batched on CUDA).

        Training: the list goes to ``transforms`` (which must start with a size-changing op, see
        :mod:`torchaug.transforms.ragged`). Evaluation: images of one size are stacked.
        """
        from torchaug.data.decode import decode_batch, is_encoded_batch

        if is_encoded_batch(x):
            x = decode_batch(x, self.device)
        if training and self.transforms is not None:
            return x
        shapes = {tuple(t.shape) for t in x}
        if len(shapes) != 1:
            raise ValueError(f"ClassifierModule: a batch of images of different sizes {sorted(shapes)[:3]} needs "
                             f"{'transforms that crop them to one size' if training else 'an evaluation loader that crops them'}"
                             " (e.g. RandomResizedCrop / Resize + CenterCrop)")
        return torch.stack(x)

    def _accumulate(self, stats: dict[str, Tensor] | None, prefix: str) -> None:
        """Sum per-batch augmentation statistics as tensors (no host sync in the loop)."""
        if not stats:
            return
        for key, value in stats.items():
            name = f"{prefix}/{key}"
            v = value.detach().float().sum() if isinstance(value, Tensor) else torch.tensor(float(value))
            self._aug_totals[name] = self._aug_totals.get(name, 0) + v
        self._aug_totals[f"{prefix}/batches"] = self._aug_totals.get(f"{prefix}/batches", 0) + 1

    def augmentation_summary(self) -> dict[str, float]:
        """Per-batch means of what augmentation did (e.g. share of samples mixed, mean λ)."""
        out: dict[str, float] = {}
        for prefix in {k.split("/")[0] for k in self._aug_totals}:
            n = float(self._aug_totals[f"{prefix}/batches"])
            for key, total in self._aug_totals.items():
                if key.startswith(prefix + "/") and not key.endswith("/batches"):
                    out[key] = float(total) / n
            out[f"{prefix}/batches"] = n
        return out

    # -- steps --------------------------------------------------------------------------
    def forward(self, x: Tensor) -> Tensor:
        return self.model(x) if self._compiled_model is None else self._compiled_model(x)

    def compute_loss(self, logits: Tensor, y_soft: Tensor) -> Tensor:
        return self.criterion(logits, y_soft)

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        x, y = batch
        if self.hook is not None:
            self.hook.generator = self.aug_generator
            if self.share_mixer_perm and self._mixer_perm is not None:
                self.hook.set_next_perm(self._mixer_perm)
        logits = self(x)
        if self.hook is not None:
            y = self.hook.mix_targets(y)
            self._accumulate(getattr(self.hook, "last_stats", None), "hook")
        loss = self.compute_loss(logits, y)
        acc = (logits.argmax(1) == y.argmax(1)).float().mean()
        # sync_dist: epoch means over all DDP ranks (reduced once per epoch; a no-op on one device)
        self.log("train/loss", loss, on_step=False, on_epoch=True, prog_bar=True, sync_dist=True)
        self.log("train/acc", acc, on_step=False, on_epoch=True, sync_dist=True)
        return loss

    def _eval_step(self, batch: tuple[Tensor, Tensor], stage: str) -> None:
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y)
        acc = (logits.argmax(1) == y).float().mean()
        self.log(f"{stage}/loss", loss, prog_bar=stage == "val", sync_dist=True)
        self.log(f"{stage}/acc", acc, prog_bar=stage == "val", sync_dist=True)
        if stage == "test":
            hits = torch.bincount(y, weights=(logits.argmax(1) == y).float(), minlength=self.num_classes)
            self._test_counts = self._test_counts + torch.stack([torch.bincount(y, minlength=self.num_classes).float(), hits])

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._eval_step(batch, "val")

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def on_test_epoch_start(self) -> None:
        self._test_counts = 0

    def on_test_epoch_end(self) -> None:
        counts = self._test_counts
        if isinstance(counts, Tensor):
            if self._trainer is not None:  # sum the per-class counts of all DDP ranks (no-op on one device)
                counts = self.trainer.strategy.reduce(counts, reduce_op="sum")
            recall = counts[1] / counts[0].clamp_min(1)
            present = counts[0] > 0
            self.log("test/balanced_acc", recall[present].mean(), sync_dist=True)  # equal on all ranks
            self.per_class_recall = recall.tolist()

    # -- optimisation -----------------------------------------------------------------
    def configure_optimizers(self) -> Any:
        if self.optimizer_factory is None:
            return torch.optim.Adam(self.parameters(), lr=1e-3)
        opt = self.optimizer_factory(self.parameters())
        if self.scheduler_factory is None:
            return opt
        return {"optimizer": opt, "lr_scheduler": {"scheduler": self.scheduler_factory(opt), "interval": "epoch"}}

    # -- random state: distinct per rank, carried by checkpoints -------------------------
    def on_fit_start(self) -> None:
        self.aug_generator = make_generator(self.seed, "augment", self.global_rank, device=self.device)
        if self._pending_rng is not None:
            state = rank_state(self._pending_rng, self.global_rank, self.trainer.world_size)
            if state is not None:
                restore_rng_state(state, self.aug_generator, seed=self.seed, rank=self.global_rank,
                                  epoch=self.trainer.current_epoch)
            else:
                log.warning("ClassifierModule: the checkpoint's random state was saved by %s process(es), this run "
                            "has %d: rank %d starts a fresh augmentation stream", self._pending_rng.get("world_size"),
                            self.trainer.world_size, self.global_rank)
            self._pending_rng = None

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # every rank's state (one all_gather under DDP): a resumed run continues each rank's own stream
        checkpoint["torchaug_rng"] = per_rank_state(capture_rng_state(self.aug_generator))
        checkpoint["torchaug_aug_totals"] = {k: (v.cpu() if isinstance(v, Tensor) else v) for k, v in self._aug_totals.items()}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        rng = checkpoint.get("torchaug_rng")
        if rng is not None and ("augment" in rng or "ranks" in rng):
            self._pending_rng = rng
        self._aug_totals = dict(checkpoint.get("torchaug_aug_totals", {}))


# a CPU generator's state (mt19937) is 5056 bytes; CUDA's (Philox seed + offset) is 16
_CPU_GENERATOR_STATE_BYTES = torch.Generator().get_state().numel()


def capture_rng_state(aug_generator: torch.Generator | None) -> dict[str, Any]:
    """The random state a checkpoint carries for one process.

    ``torch``: the global CPU RNG; ``cuda``: every visible GPU's global RNG
    (``torch.cuda.get_rng_state_all``; dropout and other ``torch.*`` draws on the GPU), only when CUDA
    has been initialised in this process; ``augment`` and ``augment_device``: the augmentation
    generator's state and the device type it lives on.
    """
    rng: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        rng["cuda"] = [s.cpu() for s in torch.cuda.get_rng_state_all()]
    if aug_generator is not None:
        rng["augment"] = aug_generator.get_state()
        rng["augment_device"] = torch.device(aug_generator.device).type
    return rng


def _saved_device(state: dict[str, Any]) -> str:
    dev = state.get("augment_device")
    if dev is not None:
        return str(dev)
    # checkpoints written before the device was recorded: tell the generator kinds apart by state size
    return "cpu" if state["augment"].numel() == _CPU_GENERATOR_STATE_BYTES else "cuda"


def restore_rng_state(state: dict[str, Any], aug_generator: Any, *, seed: int = 0, rank: int = 0,
                      epoch: int = 0) -> dict[str, str]:
    """Restore :func:`capture_rng_state`'s ``state`` into this process; returns what happened per part.

    - ``torch`` (global CPU RNG): always restored.
    - ``augment``: restored when the checkpoint's generator lived on the same device type as
      ``aug_generator``. A CPU generator's state cannot become a CUDA one (different algorithms), so
      across devices (a CPU checkpoint resumed on a GPU, or the reverse) the augmentation stream
      is re-seeded from ``(seed, "augment", rank, "resumed", epoch)``: reproducible, but not the
      stream an uninterrupted run would have drawn.
    - ``cuda``: restored on every GPU when CUDA is available and the checkpoint holds one state per
      visible GPU (the first ``n`` when the counts differ, with a warning); skipped on a CPU-only
      machine and when the checkpoint has none (a CPU checkpoint).
    """
    done: dict[str, str] = {}
    torch.set_rng_state(state["torch"].cpu())
    done["torch"] = "restored"
    if "augment" in state and aug_generator is not None:
        saved, here = _saved_device(state), torch.device(aug_generator.device).type
        if saved == here:
            aug_generator.set_state(state["augment"].cpu())
            done["augment"] = "restored"
        else:
            from torchaug.seeding import derive_seed

            aug_generator.manual_seed(derive_seed(seed, "augment", rank, "resumed", epoch))
            done["augment"] = f"re-seeded (saved on {saved}, resumed on {here})"
            log.warning("ClassifierModule: the checkpoint's augmentation generator was on %s, this run augments on "
                        "%s; its state cannot move between device types, so the augmentation stream is re-seeded "
                        "from (seed, rank, epoch): reproducible, not bit-exact with an uninterrupted run", saved, here)
    cuda_states = state.get("cuda")
    if cuda_states:
        if torch.cuda.is_available():
            n = torch.cuda.device_count()
            if len(cuda_states) != n:
                log.warning("ClassifierModule: the checkpoint holds CUDA random states for %d GPU(s), this process "
                            "sees %d: restoring the first %d", len(cuda_states), n, min(n, len(cuda_states)))
            for i, s in enumerate(cuda_states[:n]):
                torch.cuda.set_rng_state(s.cpu(), i)
            done["cuda"] = "restored"
        else:
            done["cuda"] = "skipped (no CUDA here)"
    return done
