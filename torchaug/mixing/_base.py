"""The one base class of the batch mixers: validation, pairing, per-mode draws, targets, stats."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Callable, ClassVar

import torch
from torch import nn

from torchaug._devpath import cpu_path
from torchaug._cpu.threads import cpu_threads
from torchaug._validation import (
    check_choice,
    check_finite,
    check_generator,
    check_images,
    check_labels,
    check_mix_params,
    check_number,
    check_probability,
    debug_checks_enabled,
    describe,
)
from torchaug.functional.color import _keep_format as keep_format
from torchaug.mixing import _kernels as K
from torchaug.mixing._params import HostDraw, MixParams
from torchaug.mixing._random import HostRandom, pair_ids, sample_pairing, shift_on_host, shift_perm
from torchaug.mixing.targets import mix_targets, one_hot

#: the parameter type of the pairwise mixers (subclasses may use a subclass of it, see ``params_type``)
Params = MixParams


MODES = ("batch", "pair", "elem")
PAIRINGS = ("shift", "random", "roll")


_CPU_THREADS: int | None = None


def set_cpu_threads(n: int | None) -> None:
    """Intra-op threads for the mixers' CPU image kernels (default ``None``: torch's setting).

    The kernels are memory-bound. On an idle 2-core machine two threads are faster (MixUp at
    64x3x224x224: 25 ms vs 36 ms with one). When the other cores are busy (e.g. running the
    DataLoader workers) a parallel region waits for a busy core's time slice, and one thread
    was 2-10x faster than two: ``set_cpu_threads(1)`` there. In DataLoader workers torch already
    runs one thread per worker.
    """
    global _CPU_THREADS
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"set_cpu_threads: n must be a positive integer or None; got {n!r}")
    _CPU_THREADS = n


#: class counts up to which soft targets are rows of a cached ``(K, K)`` table (4 MiB at 1024)
SMOOTHED_ROWS_MAX_CLASSES = 1024


@functools.lru_cache(maxsize=16)
def _smoothed_rows(k: int, s: float, device: torch.device) -> torch.Tensor:
    """Row ``c`` is the smoothed one-hot target of class ``c``: one ``index_select`` per batch
    instead of a fill and a scatter. Shared: never written to."""
    return torch.full((k, k), s / k, device=device).fill_diagonal_(1.0 - s + s / k)


def mixing_stats(params: Params) -> dict[str, torch.Tensor]:
    """What a mixer did to a batch, as float tensors on the batch's device (no host sync).

    ``mixed_fraction``: share of samples that received content from a partner;
    ``lam_mean``: mean label weight ``λ`` of the samples themselves (1 for unmixed samples).
    """
    return {
        "mixed_fraction": params["mixed"].float().mean(),
        "lam_mean": params["lam"].float().mean(),
    }


class Mixer(nn.Module):
    """Base of the batch mixers: ``mixer(x, y) -> (x_mixed, y_soft)``.

    Subclasses implement :meth:`make_params` (draw the pairing and per-sample parameters on
    ``x.device``, every sample mixed) and :meth:`apply` (deterministic), and may implement :meth:`draw_on_host`
    (the batch-wide draws of a CPU batch as Python numbers). The base validates inputs, builds the
    (smoothed) soft targets, mixes them as ``ỹ' = λ ỹ + (1 - λ) ỹ[perm]``, records
    :attr:`last_stats`, and honours :attr:`enabled`.

    Parameters every mixer returns (``return_params=True``: a :class:`~torchaug.mixing._params.MixParams`,
    read like a dict) and accepts back (``params=``: that object or any mapping with its keys):

    - ``perm`` int64 ``(B,)``: the partner of each sample;
    - ``lam`` float32 ``(B,)``: the *label* weight of the sample itself, so targets (and any
      feature-space mixer composed after this one) follow ``ỹ' = λ ỹ + (1 - λ) ỹ[perm]``;
      1 for samples that were not mixed;
    - ``image_lam`` float32 ``(B,)``: the *pixel* weight of the sample itself outside the
      pasted box (MixUp: equal to ``lam``; SamplePairing: 0.5 while ``lam`` is 1; CutMix: 1);
    - ``box`` int64 ``(B, 4)``: ``[y0, y1, x0, x1)`` region taken from the partner (empty when
      none);
    - ``mixed`` bool ``(B,)``: whether the sample received content from a partner;
    - ``offset`` int64 ``(1,)`` (only for the structured pairings): the pairing's random offset.

    In pixels: ``x'[i] = image_lam[i] * x[i] + (1 - image_lam[i]) * x[perm[i]]`` outside
    ``box[i]`` and ``x'[i] = x[perm[i]]`` inside it.

    Sampling: every call draws the pairing, then the mixer's own draws (λ, boxes, masks) as if
    every sample were mixed, then ``B`` uniforms that choose the samples mixed with probability
    ``p`` (:meth:`choose_applied`): changing ``p`` changes which samples are mixed, never their
    λ or box, nor the random stream of later calls.
    """

    __torchaug_public__ = False
    default_pairing = "shift"
    #: the dataclass of this mixer's parameters (:mod:`torchaug.mixing._params`)
    params_type: ClassVar[type[MixParams]] = MixParams
    #: whether :meth:`make_params` reads the pixels (SaliencyMix's saliency): then it runs with the
    #: pixel kernels' thread count (:func:`set_cpu_threads`), not the one thread of the parameter ops
    draws_from_pixels: ClassVar[bool] = False

    def __init__(
        self,
        *,
        num_classes: int,
        label_smoothing: float = 0.0,
        p: float = 1.0,
        mode: str = "batch",
        pairing: str | None = None,
        inplace: bool = False,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.num_classes = int(check_number(num_classes, owner=owner, name="num_classes", low=1, integer=True))
        self.label_smoothing = float(
            check_number(label_smoothing, owner=owner, name="label_smoothing", low=0.0, high=1.0)
        )
        self.p = check_probability(p, owner=owner, name="p")
        self.mode = check_choice(mode, MODES, owner=owner, name="mode")
        self.pairing = check_choice(pairing or self.default_pairing, PAIRINGS, owner=owner, name="pairing")
        if not isinstance(inplace, bool):
            raise TypeError(f"{owner}: inplace must be a bool; got {describe(inplace)}")
        self.inplace = inplace
        #: a disabled mixer returns ``x`` unchanged and one-hot (smoothed) targets (schedules toggle it)
        self.enabled = True
        self._last_params: Params | None = None

    def extra_repr(self) -> str:
        return (
            f"num_classes={self.num_classes}, label_smoothing={self.label_smoothing}, p={self.p}, "
            f"mode={self.mode!r}, pairing={self.pairing!r}, enabled={self.enabled}"
        )

    # -- to override -----------------------------------------------------------------------
    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        """The draws of a call in which every sample is mixed (pairing first, then the mixer's
        own, on ``x.device``); the base then chooses the samples mixed (:meth:`choose_applied`)."""
        raise TypeError(f"{type(self).__name__} does not define make_params()")  # pragma: no cover

    def draw_on_host(self, x: torch.Tensor, rng: HostRandom) -> tuple[float, float, tuple[int, int, int, int] | None]:
        """Optional: the batch-wide ``(lam, image_lam, box)`` of a :class:`HostDraw`, drawn from
        ``rng`` (see :meth:`host_draws`). Mixers that do not override it draw tensors only."""
        raise TypeError(f"{type(self).__name__} does not draw on the host")  # pragma: no cover

    def _draw(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        """The forward pass's draws: a :class:`HostDraw` where :meth:`host_draws` allows it, else
        :meth:`make_params`; then :meth:`choose_applied` (the same rule on both)."""
        if not self.host_draws(x):
            return self.choose_applied(x, self.make_params(x, generator), generator)
        rng = HostRandom(generator)
        b = x.shape[0]
        r, q = shift_on_host(b, rng)
        host = HostDraw(r, None if q is None else (b - 1, q), *self.draw_on_host(x, rng))
        return self.choose_applied(x, self.params_type(perm=shift_perm(b, r, q), host=host), generator)

    def apply(self, x: torch.Tensor, params: Params, inplace: bool) -> torch.Tensor:
        """Default: the generic kernel (any device); subclasses add fast paths."""
        return self._apply_generic(x, params, inplace)

    # -- sampling helpers ------------------------------------------------------------------
    def _pairing(self, x: torch.Tensor, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        return sample_pairing(x.shape[0], self.pairing, generator=generator, device=x.device)

    def host_draws(self, x: torch.Tensor) -> bool:
        """Whether this call's batch-wide draws are a few Python numbers (:class:`HostDraw`): a
        mixer with :meth:`draw_on_host`, a CPU batch of 2+, one draw per batch (``mode="batch"``)
        and the ``"shift"`` pairing. ``p`` plays no part (see :meth:`choose_applied`)."""
        return (
            type(self).draw_on_host is not Mixer.draw_on_host
            and cpu_path(x)
            and self.mode == "batch"
            and self.pairing == "shift"
            and x.shape[0] > 1
        )

    def _per_mode(self, draw: Callable[[int], torch.Tensor], perm: torch.Tensor) -> torch.Tensor:
        """One draw per batch, per pair or per sample (``self.mode``), as a ``(B, ...)`` tensor."""
        b = perm.shape[0]
        if self.mode == "batch":
            t = draw(1)
            return t.expand(b, *t.shape[1:]).clone()  # a copy: ``repeat`` costs several times more
        t = draw(b)
        return t.index_select(0, pair_ids(perm)) if self.mode == "pair" else t

    def choose_applied(self, x: torch.Tensor, params: Params, generator: torch.Generator | None) -> Params:
        """The one sampling rule for ``p``: the last draw of every call, after everything else.

        ``params`` hold the draws of a call in which every sample is mixed (pairing, then λ,
        boxes, masks, in the same order and with the same samplers whatever ``p`` is). Then ``B``
        uniforms ``u`` are drawn, always (also at ``p = 1``), and sample ``i`` is mixed when
        ``u[i] < p`` (and it has a partner other than itself). So for one generator the pairing,
        λ and boxes of the mixed samples do not depend on ``p``, and neither does the stream the
        next call sees. Samples not chosen keep their pixels and label: ``lam = image_lam = 1``,
        an empty box (and a mask of ones). ``p = 0`` draws nothing (the call is an identity).
        """
        b = x.shape[0]
        u = torch.rand(b, generator=generator, device=x.device)
        if self.p >= 1.0 and b > 1:  # every pairing gives each sample of a batch of 2+ a partner other than itself
            if params.host is None:
                params.mixed = torch.ones(b, dtype=torch.bool, device=x.device)
            return params
        params.materialize()
        mixed = u < self.p
        if b == 1:
            mixed = mixed & (params.perm != torch.arange(b, device=x.device))
        return self.keep_unmixed(params, mixed)

    def keep_unmixed(self, params: Params, mixed: torch.Tensor) -> Params:
        """``params`` with the samples not in ``mixed`` left alone (λ 1, empty box); returns ``params``."""
        one = torch.ones((), device=mixed.device)
        params.lam = torch.where(mixed, params.lam, one)
        params.image_lam = torch.where(mixed, params.image_lam, one)
        params.box = torch.where(mixed.unsqueeze(1), params.box, torch.zeros((), dtype=torch.long, device=mixed.device))
        params.mixed = mixed
        return params

    def _base_params(self, x: torch.Tensor, perm: torch.Tensor, offset: torch.Tensor | None, **given: torch.Tensor) -> Params:
        """The parameters of :attr:`params_type`: ``given`` entries, defaults (no mixing) for the
        base's others (``mixed`` is set by :meth:`choose_applied`)."""
        b = x.shape[0]
        dev = x.device
        given.setdefault("lam", torch.ones(b, device=dev))
        given.setdefault("image_lam", torch.ones(b, device=dev))
        given.setdefault("box", torch.zeros(b, 4, dtype=torch.long, device=dev))
        given.setdefault("mixed", torch.zeros(b, dtype=torch.bool, device=dev))
        return self.params_type(perm=perm, offset=offset, **given)

    def identity_params(self, x: torch.Tensor) -> Params:
        """Parameters of "no mixing" (a disabled mixer, ``alpha=0``, a batch of one)."""
        params = self._base_params(x, torch.arange(x.shape[0], device=x.device), None)
        params.identity = True
        return params

    # -- apply helpers ---------------------------------------------------------------------
    def _structured(self, x: torch.Tensor, params: Params) -> tuple[int, tuple[int, int] | None] | None:
        """On CPU with a structured pairing: ``(offset, leftover)`` as Python ints, else None.

        Reading these numbers is free on CPU (no device to synchronise with); on an
        accelerator the generic kernel runs instead, so nothing is read back.
        """
        host = params.host
        if host is not None:
            return host.r, host.leftover
        if not cpu_path(x) or params.offset is None or x.shape[0] < 2:
            return None
        r = int(params.offset)
        b = x.shape[0]
        leftover = (b - 1, int(params.perm[b - 1])) if (b % 2 and self.pairing == "shift") else None
        return r, leftover

    @staticmethod
    def _finish(x: torch.Tensor, out: torch.Tensor, inplace: bool) -> torch.Tensor:
        """``out`` written into ``x`` (``inplace``), or returned in ``x``'s memory format: the
        generic kernels' ``lerp``/``where`` over a gathered partner return NCHW."""
        if inplace and out is not x:
            x.copy_(out)
            return x
        return keep_format(out, x)

    def _apply_generic(self, x: torch.Tensor, params: Params, inplace: bool) -> torch.Tensor:
        params.materialize()
        b, _, h, w = x.shape
        w_self = params.image_lam.view(b, 1, 1, 1)
        box = params.box
        if bool((box[:, 1] > box[:, 0]).any()) if cpu_path(x) else True:
            w_self = w_self * (~K.box_mask(box, h, w)).to(w_self.dtype)
        return self._finish(x, K.blend_generic(x, params.perm, w_self), inplace)

    def blend(self, x: torch.Tensor, params: Params, inplace: bool) -> torch.Tensor:
        """Pixel blending ``image_lam * x + (1 - image_lam) * x[perm]`` with the CPU fast paths
        (the ``"shift"`` pair kernel, the ``"roll"`` two-slice kernel); the generic kernel elsewhere."""
        structure = self._structured(x, params)
        if structure is not None:
            r, leftover = structure
            if self.pairing == "shift" and K.is_dense(x):
                out = x if inplace else torch.empty_like(x)
                host = params.host
                return K.blend_pairs(x, out, r, leftover, params.image_lam if host is None else host.image_lam)
            if self.pairing == "roll":
                return self._finish(x, K.blend_roll(x, r, params["image_lam"]), inplace)
        b = x.shape[0]
        params.materialize()  # a layout without the pair kernel's row blocks
        return self._finish(x, K.blend_generic(x, params.perm, params.image_lam.view(b, 1, 1, 1)), inplace)

    def paste(self, x: torch.Tensor, params: Params, inplace: bool, *, shared_box: bool) -> torch.Tensor:
        """``x'[i] = x[perm[i]]`` inside ``box[i]``, ``x[i]`` elsewhere, with the CPU fast paths
        (``shared_box``: every sample has ``box[0]``, copied as one slice per pair block)."""
        b, _, h, w = x.shape
        structure = self._structured(x, params)
        if structure is not None and self.pairing == "shift":
            r, leftover = structure
            out = x if inplace else torch.empty_like(x)
            host = params.host
            if host is not None:
                return K.paste_box_pairs(x, out, host.box, r, leftover)
            if shared_box:
                corners = tuple(int(v) for v in params.box[0])  # CPU tensor: no device sync
                return K.paste_box_pairs(x, out, corners, r, leftover)
            if x.is_floating_point():  # a float weight map: lerp beats where over a bool mask (half the time)
                return K.lerp_pairs(x, out, K.box_weight(params.box, h, w), r, leftover)
            return K.where_pairs(x, out, K.box_mask(params.box, h, w), r, leftover)
        params.materialize()
        out = torch.where(K.box_mask(params.box, h, w), x.index_select(0, params.perm), x)
        return self._finish(x, out, inplace)

    # -- replayed parameters ---------------------------------------------------------------
    def _check_params(self, params: Any, x: torch.Tensor) -> Params:
        owner = type(self).__name__
        if not isinstance(params, Mapping) or "perm" not in params or "lam" not in params:
            raise TypeError(f"{owner}: params must be a mapping (the params a call returned, or a dict) with at "
                            f"least 'perm' and 'lam'; got {describe(params)}")
        b = x.shape[0]
        check_mix_params(params, batch=b, owner=owner)
        out = self.params_type.from_mapping(params, owner=owner)
        perm, lam = out.perm, out.lam
        if out.image_lam is None:
            out.image_lam = lam
        if out.box is None:
            out.box = torch.zeros(b, 4, dtype=torch.long, device=x.device)
        if out.mixed is None:
            out.mixed = perm != torch.arange(b, device=x.device)
        off = out.offset
        if off is not None and not (isinstance(off, torch.Tensor) and off.numel() == 1 and not off.is_floating_point()):
            out.offset = None
        if out.offset is not None and cpu_path(x):
            # keep the fast path only if the offset really describes this pairing
            r = int(out.offset)
            idx = torch.arange(b)
            if self.pairing == "roll":
                expected = (idx + r) % b
                ok = torch.equal(perm.cpu(), expected)
            else:
                h = b // 2
                ok = self.pairing == "shift" and torch.equal(perm[:h].cpu(), h + (idx[:h] + r) % h)
            if not ok:
                out.offset = None
        return out

    # -- driver ----------------------------------------------------------------------------
    def forward(
        self,
        x: Any,
        y: Any,
        *,
        generator: torch.Generator | None = None,
        return_params: bool = False,
        params: Params | None = None,
        inplace: bool | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor] | tuple[torch.Tensor, torch.Tensor, Params]:
        """Mix a batch.

        Args:
            x: images ``(B, C, H, W)``, uint8 in [0, 255] or floating. Floating batches may hold
                any values: the pixels are convex combinations or copies of the input, so a
                batch normalised before mixing (as timm mixes on the device) comes out as the
                normalised mixture; NaN and inf are looked for only with
                ``set_value_checks("always")`` (a pass over the batch that costs as much as
                the mixing at 32x32; NaN would show in the mixed pair and the loss anyway).
            y: int64 class indices ``(B,)`` or soft targets ``(B, num_classes)``.
            generator: random stream on ``x``'s device (None: torch's global RNG).
            return_params: also return the parameters drawn (see the class docstring).
            params: replay parameters returned by an earlier call instead of drawing.
            inplace: overwrite ``x`` (default: the constructor's ``inplace``). ``MixCollate``
                uses it on the batch it has just collated.

        Returns:
            ``(x_mixed, y_soft)`` or ``(x_mixed, y_soft, params)``; ``x_mixed`` has ``x``'s
            shape, dtype, device and memory format (uint8 results are rounded); ``y_soft`` is
            float32 ``(B, num_classes)`` with rows summing to 1.
        """
        owner = type(self).__name__
        dev = x.device if isinstance(x, torch.Tensor) else torch.device("cpu")
        x4, _ = check_images(x, owner=owner, allow_single=False, unit_range=False)
        if debug_checks_enabled():
            check_finite(x4, owner=owner, name="x")
        with cpu_threads(dev, 1):
            check_labels(y, owner=owner, num_classes=self.num_classes, batch_size=x4.shape[0])
            check_generator(generator, x4.device, owner=owner)
            y_soft = self._soft_targets(y if y.device == x4.device else y.to(x4.device))
            if params is not None:
                params = self._check_params(params, x4)
            elif self.static_identity(x4):
                params = self.identity_params(x4)
            elif not self.draws_from_pixels:
                params = self._draw(x4, generator)
        if params is None:
            with cpu_threads(dev, _CPU_THREADS):
                params = self._draw(x4, generator)
        with cpu_threads(dev, 1):
            identity = params.identity
            if not identity:
                host = params.host
                y_soft = mix_targets(y_soft, params.perm, params.lam if host is None else host.lam)
        if identity:
            out = x4
        else:
            with cpu_threads(dev, _CPU_THREADS):
                out = self.apply(x4, params, self.inplace if inplace is None else inplace)
        self.__dict__["_last_params"] = params  # plain attribute (nn.Module.__setattr__ costs more)
        return (out, y_soft, params) if return_params else (out, y_soft)

    def _soft_targets(self, y: torch.Tensor) -> torch.Tensor:
        """Validated labels -> float32 ``(B, K)`` smoothed targets (``one_hot``, two ops)."""
        s, k = self.label_smoothing, self.num_classes
        if y.ndim == 2:
            return one_hot(y, k, label_smoothing=s)
        if k <= SMOOTHED_ROWS_MAX_CLASSES:
            return _smoothed_rows(k, s, y.device).index_select(0, y)
        out = torch.full((y.shape[0], k), s / k, device=y.device)
        return out.scatter_(1, y.unsqueeze(1), 1.0 - s + s / k)

    @property
    def last_params(self) -> Params | None:
        """The parameters of the last call (as ``return_params=True`` gives them), None before the first."""
        return self.__dict__.get("_last_params")

    @property
    def last_stats(self) -> dict[str, torch.Tensor]:
        """:func:`mixing_stats` of the last call (float tensors on the batch's device, computed on access)."""
        params = self.last_params
        return {} if params is None else mixing_stats(params)

    def no_mixing(self) -> bool:
        """Whether the hyper-parameters make every call an identity (e.g. ``alpha=0``, ``p=0``)."""
        return self.p == 0.0

    def static_identity(self, x: torch.Tensor) -> bool:
        """Known without reading data: disabled, a batch of one, or :meth:`no_mixing`."""
        return (not self.enabled) or x.shape[0] < 2 or self.no_mixing()


class AlphaMixer(Mixer):
    """A :class:`Mixer` with one Beta concentration ``alpha`` (``alpha=0``: no mixing): the constructor,
    repr and switch-off that MixUp and SaliencyMix share."""

    def __init__(
        self,
        alpha: float = 1.0,
        *,
        num_classes: int,
        label_smoothing: float = 0.0,
        p: float = 1.0,
        mode: str = "batch",
        pairing: str | None = None,
        inplace: bool = False,
    ) -> None:
        super().__init__(
            num_classes=num_classes, label_smoothing=label_smoothing, p=p, mode=mode, pairing=pairing, inplace=inplace
        )
        self.alpha = float(check_number(alpha, owner=type(self).__name__, name="alpha", low=0.0))

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, " + super().extra_repr()

    def no_mixing(self) -> bool:
        return self.alpha == 0.0 or super().no_mixing()
