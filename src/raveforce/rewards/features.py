"""Private feature machinery behind :mod:`raveforce.rewards`.

librosa's STFT, log-mel and CQT (0.11, default parameters) rebuilt on numpy,
scipy and soxr, as *frame trackers*: a tracker holds a growing signal and
one cached result per analysis frame; ``extend(start, samples)`` writes
``samples`` at ``start`` (the signal ends there afterwards) and recomputes
only the frames whose window, zero padding included, reaches index
``start``.  Every frame is computed by the same batch-invariant operations
whatever the call history, so incremental and from-scratch results are
bit-identical.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.fft
import scipy.sparse
import soxr
from numpy.lib.stride_tricks import as_strided, sliding_window_view

N_FFT = 2048  # STFT / mel frame length (samples)
HOP = 512  # hop of every feature (samples at the input rate)
N_MELS = 128
N_MFCC = 20
AMIN = 1e-10  # power floor of power_to_db
TOP_DB = 80.0
CQT_BINS = 84
CQT_BPO = 12
CQT_FMIN = 440.0 * 2.0 ** ((24 - 69.0) / 12.0)  # C1, as librosa.note_to_hz("C1")
CQT_SPARSITY = 0.01
HANN_BANDWIDTH = 1.50018310546875  # librosa.filters.WINDOW_BANDWIDTHS["hann"]

FIR_HALF = 300  # half-length (input samples) of the extracted soxr 2:1 filter
FIR_NFFT = 1024  # FFT size of one block of the decimating FIR
FIR_BLOCK = (FIR_NFFT - 2 * FIR_HALF) // 2  # outputs per FIR block (212)


def _scipy_rfft(x: np.ndarray) -> np.ndarray:
    return scipy.fft.rfft(x)


def _scipy_irfft(x: np.ndarray, n: int) -> np.ndarray:
    return scipy.fft.irfft(x, n)


@functools.cache
def _pocketfft_calls():
    """(rfft, irfft) along the last axis: scipy.fft's own pocketfft calls without its dispatch
    (~20 us a call, more than a 2048-point transform), where they give scipy.fft's bits on probes;
    else scipy.fft.rfft / irfft themselves."""
    try:
        from scipy.fft._pocketfft import pypocketfft

        def rfft(x):
            return pypocketfft.r2c(x, (x.ndim - 1,), True, 0, None, 1)

        def irfft(x, n):
            if x.shape[-1] != n // 2 + 1:  # scipy.fft would crop or pad x first
                return scipy.fft.irfft(x, n)
            return pypocketfft.c2r(x, (x.ndim - 1,), n, False, 2, None, 1)  # norm "backward": 1/n

        rng = np.random.default_rng(0)
        for shape in ((2048,), (3, 1024), (2, 3, 512)):
            x = rng.standard_normal(shape)
            spec = scipy.fft.rfft(x)
            if not (np.array_equal(rfft(x), spec) and np.array_equal(irfft(spec, shape[-1]), scipy.fft.irfft(spec, shape[-1]))):
                return _scipy_rfft, _scipy_irfft
        return rfft, irfft
    except Exception:  # another scipy: its private module moved or changed
        return _scipy_rfft, _scipy_irfft


def rfft(x: np.ndarray) -> np.ndarray:
    """``scipy.fft.rfft(x)`` (last axis, float64 ``x``), to the bit, faster for small transforms."""
    return _pocketfft_calls()[0](x)


def irfft(x: np.ndarray, n: int) -> np.ndarray:
    """``scipy.fft.irfft(x, n)`` (last axis, complex128 ``x``), to the bit."""
    return _pocketfft_calls()[1](x, n)


def _sparse_product(basis, x: np.ndarray) -> np.ndarray:
    return basis @ x


@functools.cache
def _csr_product_call():
    """``basis @ x`` for a float64 CSR ``basis`` and a dense float64 (n, k) ``x``: scipy's own
    ``csr_matvecs`` without scipy.sparse's dispatch (~8 us a call), where it gives its bits on a
    probe; else ``basis @ x``."""
    try:
        from scipy.sparse import _sparsetools

        def product(basis, x):
            out = np.zeros((basis.shape[0], x.shape[1]))
            _sparsetools.csr_matvecs(basis.shape[0], basis.shape[1], x.shape[1], basis.indptr, basis.indices, basis.data, x.ravel(), out.ravel())
            return out

        basis = mel_basis(22050)
        x = np.random.default_rng(0).random((basis.shape[1], 5)).T.copy().T  # a transposed view, as MelDb passes
        if np.array_equal(product(basis, x), basis @ x):
            return product
    except Exception:  # another scipy: its private module moved or changed
        pass
    return _sparse_product


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


class _Signal:
    """A growing 1-D float64 signal: ``data[pad + i]`` holds sample ``i`` for
    ``i < length``; every other entry (``pad`` on the left, the tail) is 0."""

    __slots__ = ("data", "pad", "length")

    def __init__(self, capacity: int, *, pad: int, tail: int) -> None:
        self.data = np.zeros(pad + capacity + tail)
        self.pad = pad
        self.length = 0

    def clear(self) -> None:
        self.data[self.pad : self.pad + self.length] = 0.0
        self.length = 0

    def write(self, start: int, samples: np.ndarray) -> None:
        """Overwrite from ``start`` (<= length); the signal then ends after ``samples``."""
        stop = start + len(samples)
        self.data[self.pad + start : self.pad + stop] = samples
        self.length = stop

    def frames(self, first: int, stop: int, *, hop: int, n_fft: int) -> np.ndarray:
        """Read-only ``(stop - first, n_fft)`` view of librosa's centred frames
        (``center=True``, zero padding): frame j covers ``[j*hop - n_fft//2, j*hop + n_fft//2)``."""
        lo = self.pad + first * hop - n_fft // 2
        hi = lo + (stop - first - 1) * hop + n_fft
        if not 0 <= lo <= hi <= len(self.data):
            raise ValueError(f"frames {first} to {stop} reach samples {lo} to {hi} outside the signal's {len(self.data)}")
        # sliding_window_view(self.data[lo:hi], n_fft)[::hop], without its overhead (a hot path)
        data, size = self.data, self.data.itemsize
        if not data.flags.c_contiguous:
            return as_strided(data[lo:], (stop - first, n_fft), (hop * data.strides[0], data.strides[0]), writeable=False)
        view = np.ndarray((stop - first, n_fft), dtype=data.dtype, buffer=data, offset=lo * size, strides=(hop * size, size))
        view.flags.writeable = False
        return view


def n_frames(length: int, hop: int) -> int:
    """Number of centred frames librosa gives a signal of ``length`` samples."""
    return 1 + length // hop


def first_changed_frame(start: int, *, hop: int, n_fft: int) -> int:
    """First centred frame whose window reaches sample ``start``."""
    return max(0, (start - n_fft // 2) // hop + 1)


# --------------------------------------------------------------------- STFT


@functools.cache
def _hann(n: int) -> np.ndarray:
    """(n,) periodic Hann window, computed as scipy.signal.get_window("hann", n) does, to the bit
    (scipy.signal itself takes most of a second to import)."""
    fac = np.linspace(-np.pi, np.pi, n + 1)
    window = np.zeros(n + 1)
    for k, a in enumerate((0.5, 0.5)):
        window += a * np.cos(k * fac)
    return window[:-1]


class StftEnergy:
    """Per-frame energy ``sum_f |X[f, t]|**2`` of ``librosa.stft`` (defaults)
    of a growing signal.  Cost of ``extend``: one 2048-point rfft per
    recomputed frame (~(len(samples) + 1536) / 512 frames)."""

    def __init__(self, capacity: int) -> None:
        self.signal = _Signal(capacity, pad=N_FFT // 2, tail=N_FFT // 2 + HOP)
        self.energy = np.zeros(n_frames(capacity, HOP))

    def clear(self) -> None:
        self.signal.clear()

    def extend(self, start: int, samples: np.ndarray) -> float:
        """Write ``samples`` at ``start``; return the mean over the 2 x F x T
        real/imaginary STFT entries of their square (i.e. energy / (2 F T))."""
        self.signal.write(start, samples)
        stop = n_frames(self.signal.length, HOP)
        first = first_changed_frame(start, hop=HOP, n_fft=N_FFT)
        if first < stop:
            spec = rfft(self.signal.frames(first, stop, hop=HOP, n_fft=N_FFT) * _hann(N_FFT))
            self.energy[first:stop] = np.sum(spec.real**2 + spec.imag**2, axis=1)
        return float(np.sum(self.energy[:stop]) / (2 * (N_FFT // 2 + 1) * stop))


def _windowed_frames(data: np.ndarray, first: int, stop: int, scratch) -> np.ndarray:
    """(m, stop - first, N_FFT) Hann-windowed centred frames of each row of ``data`` (rows laid
    out as ``_Signal.data`` with pad N_FFT // 2), in ``scratch(shape)``."""
    lo = N_FFT // 2 + first * HOP - N_FFT // 2
    hi = lo + (stop - first - 1) * HOP + N_FFT
    frames = sliding_window_view(data[:, lo:hi], N_FFT, axis=1)[:, ::HOP]
    return np.multiply(frames, _hann(N_FFT), out=scratch(frames.shape))


def stft_energies(data: np.ndarray, energy: np.ndarray, start: int, length: int, scratch) -> np.ndarray:
    """``StftEnergy.extend`` for m signals at once, bit-identical: ``data`` (m, ...) and ``energy``
    (m, frames) are the trackers' rows, already holding the samples up to ``length``, changed from
    ``start`` on; returns the (m,) means."""
    stop = n_frames(length, HOP)
    first = first_changed_frame(start, hop=HOP, n_fft=N_FFT)
    if first < stop:
        spec = rfft(_windowed_frames(data, first, stop, scratch))
        energy[:, first:stop] = np.sum(spec.real**2 + spec.imag**2, axis=2)
    return np.sum(energy[:, :stop], axis=1) / (2 * (N_FFT // 2 + 1) * stop)


# --------------------------------------------------------------------- MFCC


def _hz_to_mel(f: float) -> float:
    """librosa.hz_to_mel (Slaney), scalar."""
    f_sp = 200.0 / 3
    if f >= 1000.0:
        return 1000.0 / f_sp + np.log(f / 1000.0) / (np.log(6.4) / 27.0)
    return f / f_sp


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    """librosa.mel_to_hz (Slaney), vector."""
    f_sp = 200.0 / 3
    min_log_mel = 1000.0 / f_sp
    logstep = np.log(6.4) / 27.0
    freqs = f_sp * mels
    log_t = mels >= min_log_mel
    freqs[log_t] = 1000.0 * np.exp(logstep * (mels[log_t] - min_log_mel))
    return freqs


@functools.lru_cache(maxsize=8)
def mel_basis(sample_rate: int) -> scipy.sparse.csr_array:
    """``librosa.filters.mel(sr=sample_rate, n_fft=2048)`` (128 x 1025, float32
    values as librosa rounds them), as a sparse float64 matrix."""
    fftfreqs = np.fft.rfftfreq(n=N_FFT, d=1.0 / sample_rate)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sample_rate / 2), N_MELS + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    weights = np.zeros((N_MELS, 1 + N_FFT // 2), dtype=np.float32)
    weights[:] = np.maximum(0, np.minimum(-ramps[:-2] / fdiff[:-1, None], ramps[2:] / fdiff[1:, None]))
    weights *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]
    return scipy.sparse.csr_array(weights.astype(np.float64))


@functools.lru_cache(maxsize=16)
def mel_triangles(sample_rate: int, n_fft: int, bands: int, fmin: float, fmax: float) -> np.ndarray:
    """float64 (n_fft // 2 + 1, bands): unit-peak triangles evenly spaced on the mel scale
    (HTK) from fmin to min(fmax, sample_rate / 2) Hz; ``power @ mel_triangles(...)`` is band power."""
    mel = lambda f: 2595.0 * np.log10(1.0 + np.asarray(f, np.float64) / 700.0)  # noqa: E731
    edges = 700.0 * (10.0 ** (np.linspace(mel(fmin), mel(min(fmax, sample_rate / 2)), bands + 2) / 2595.0) - 1.0)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    rise = (freqs[:, None] - edges[None, :-2]) / np.maximum(edges[1:-1] - edges[:-2], 1e-9)
    fall = (edges[None, 2:] - freqs[:, None]) / np.maximum(edges[2:] - edges[1:-1], 1e-9)
    return np.clip(np.minimum(rise, fall), 0.0, None)


@functools.cache
def _dct_t() -> np.ndarray:
    """(128, 20): ``db @ _dct_t()`` is scipy.fft.dct(type=2, norm='ortho') truncated to 20."""
    return np.ascontiguousarray(scipy.fft.dct(np.eye(N_MELS), type=2, norm="ortho", axis=0)[:N_MFCC].T)


class MelDb:
    """Per-frame log-mel ``10 log10(max(1e-10, mel power))`` (dB, ref 1, before
    the top_db clip) of a growing signal, shape (frames, 128).  Cost of
    ``extend``: one rfft + sparse mel product per recomputed frame."""

    def __init__(self, capacity: int, sample_rate: int) -> None:
        self.signal = _Signal(capacity, pad=N_FFT // 2, tail=N_FFT // 2 + HOP)
        self.db = np.zeros((n_frames(capacity, HOP), N_MELS))
        self.basis = mel_basis(sample_rate)

    def clear(self) -> None:
        self.signal.clear()

    def extend(self, start: int, samples: np.ndarray) -> np.ndarray:
        """Write ``samples`` at ``start``; return the (frames, 128) dB view."""
        self.signal.write(start, samples)
        stop = n_frames(self.signal.length, HOP)
        first = first_changed_frame(start, hop=HOP, n_fft=N_FFT)
        if first < stop:
            spec = rfft(self.signal.frames(first, stop, hop=HOP, n_fft=N_FFT) * _hann(N_FFT))
            power = np.abs(spec)
            np.square(power, out=power)
            mel = _csr_product_call()(self.basis, power.T)  # (128, frames): self.basis @ power.T
            np.maximum(AMIN, mel, out=mel)
            np.log10(mel, out=mel)
            np.multiply(10.0, mel.T, out=self.db[first:stop])
        return self.db[:stop]


def mfcc_from_db(db: np.ndarray) -> np.ndarray:
    """(frames, 20) MFCCs from (frames, 128) log-mel dB: global top_db clip, then DCT-II."""
    return np.maximum(db, db.max() - TOP_DB) @ _dct_t()


class MfccFrames:
    """``mfcc_from_db`` of a growing log-mel, shape (frames, 20), keeping the MFCCs of the frames
    before the first changed one while the top_db clip level stays the same (the DCT of the other
    frames only; ~14 of 173 per DrumLoop step).  Bit-identical to ``mfcc_from_db`` where
    :func:`dct_rows_reusable` holds for the schedule of updates; else give ``first=0``.
    ``state`` is (clip level of the kept frames, frames kept): an array, so that a batch of
    trackers can share their rows (:func:`mfcc_update_many`)."""

    def __init__(self, capacity: int) -> None:
        self.mfcc = np.zeros((capacity, N_MFCC))
        self.row_max = np.zeros(capacity)  # each frame's largest dB
        self.state = np.array([np.nan, 0.0])

    @property
    def clip(self) -> float:
        return float(self.state[0])

    def clear(self) -> None:
        self.state[1] = 0.0

    def update(self, db: np.ndarray, first: int) -> np.ndarray:
        """(frames, 20) MFCCs of ``db`` (frames, 128), whose frames before ``first`` are those of
        the last update (0: none are)."""
        n = len(db)
        lo = first - first % 2 if first <= self.state[1] else 0  # even: BLAS pairs rows (see dct_rows_reusable)
        self.row_max[lo:n] = db[lo:n].max(axis=1)
        clip = self.row_max[:n].max() - TOP_DB  # == db.max() - TOP_DB
        if not clip == self.state[0]:  # a new clip level (or NaN) changes every frame
            lo = 0
        self.mfcc[lo:n] = np.maximum(db[lo:n], clip) @ _dct_t()
        self.state[:] = clip, n
        return self.mfcc[:n]


def mfcc_update_many(db: np.ndarray, mfcc: np.ndarray, row_max: np.ndarray, state: np.ndarray, first: int) -> np.ndarray:
    """``MfccFrames.update`` of m trackers at once, bit-identical: ``db`` (m, frames, 128) their
    log-mel, ``mfcc`` (m, capacity, 20), ``row_max`` (m, capacity) and ``state`` (m, 2) their rows
    (updated in place); ``first`` the first changed frame of every row.  Returns (m, frames, 20)."""
    n = db.shape[1]
    lo = first - first % 2
    stale = state[:, 1] < first  # rows that kept fewer frames than this update assumes
    row_max[:, lo:n] = db[:, lo:n].max(axis=2)
    if stale.any():
        row_max[stale, :lo] = db[stale, :lo].max(axis=2)
    clip = row_max[:, :n].max(axis=1) - TOP_DB
    whole = stale | ~(clip == state[:, 0])  # a new clip level (or NaN) changes every frame
    if not whole.any():
        mfcc[:, lo:n] = np.maximum(db[:, lo:n], clip[:, None, None]) @ _dct_t()
    elif whole.all() or not lo:
        mfcc[:, :n] = np.maximum(db, clip[:, None, None]) @ _dct_t()
    else:
        part = ~whole
        mfcc[part, lo:n] = np.maximum(db[part, lo:n], clip[part, None, None]) @ _dct_t()
        mfcc[whole, :n] = np.maximum(db[whole], clip[whole, None, None]) @ _dct_t()
    state[:, 0], state[:, 1] = clip, n
    return mfcc[:, :n]


@functools.cache
def dct_rows_reusable(schedule: tuple[tuple[int, int], ...]) -> bool:
    """Whether this process's BLAS gives every frame's DCT the same bits in a product of the frames
    from an even one on as in one product of all frames, for MfccFrames updates with ``schedule``:
    (first changed frame, frames) per step, from any step on.  OpenBLAS computes a lone last row of
    an odd-sized product differently from paired rows; other BLAS may differ again, so this is
    checked once per schedule on random log-mel (no clipping: the products alone are compared)."""
    frames = max(stop for _, stop in schedule)
    db = np.random.default_rng(0).uniform(-39.0, 39.0, (frames, N_MELS))
    db[0, 0] = 40.0  # the largest value from the first frame on: one clip level (-40 dB), below every value
    many = np.stack([db, db[::-1]])  # the batched update too: two rows, stacked products
    for begin in range(len(schedule)):
        tracker = MfccFrames(frames)
        rows = (np.zeros((2, frames, N_MFCC)), np.zeros((2, frames)), np.array([[np.nan, 0.0]] * 2))
        for k in range(begin, len(schedule)):
            first, stop = schedule[k]
            if not np.array_equal(tracker.update(db[:stop], first if k > begin else 0), mfcc_from_db(db[:stop])):
                return False
            if not np.array_equal(mfcc_update_many(many[:, :stop], *rows, first if k > begin else 0), mfcc_from_db_many(many[:, :stop])):
                return False
    return True


def mel_db_many(data: np.ndarray, db: np.ndarray, basis, start: int, length: int, scratch) -> np.ndarray:
    """``MelDb.extend`` for m signals at once, bit-identical: ``data`` (m, ...) and ``db``
    (m, frames, 128) are the trackers' rows, already holding the samples up to ``length``, changed
    from ``start`` on; returns the (m, frames so far, 128) dB view."""
    stop = n_frames(length, HOP)
    first = first_changed_frame(start, hop=HOP, n_fft=N_FFT)
    if first < stop:
        spec = rfft(_windowed_frames(data, first, stop, scratch))
        power = np.abs(spec)
        np.square(power, out=power)  # np.abs(spec) ** 2, in place
        mel = _csr_product_call()(basis, power.reshape(-1, power.shape[-1]).T)  # (128, m * frames)
        np.maximum(AMIN, mel, out=mel)
        np.log10(mel, out=mel)
        np.multiply(10.0, mel.T.reshape(len(db), stop - first, N_MELS), out=db[:, first:stop])
    return db[:, :stop]


def mfcc_from_db_many(db: np.ndarray) -> np.ndarray:
    """(m, frames, 20) ``mfcc_from_db`` of each (frames, 128) of ``db``, bit-identical (each row's
    own clip level; the DCT is one (frames, 128) @ (128, 20) product per row, as alone)."""
    top = db.max(axis=(1, 2)) - TOP_DB
    return np.maximum(db, top[:, None, None]) @ _dct_t()


# ---------------------------------------------------------------------- CQT


@functools.cache
def soxr_fir() -> np.ndarray:
    """Taps ``g[k]``, ``|k| <= FIR_HALF``, with
    ``librosa.resample(x, orig_sr=2, target_sr=1, res_type='soxr_hq', scale=True)[m]
    == sum_k g[k] x[2m + k]`` (zero outside ``x``) to soxr's float32 precision.

    soxr's 2:1 'HQ' resampler is a symmetric (zero-phase) FIR followed by
    decimation, with zero padding at both ends; its taps are read off impulse
    responses (averaged over 32 positions per phase to beat soxr's float32
    rounding, DC gain set to soxr's exact 1), then checked on noise.
    Runs once per process, a few ms."""
    n, h = 8192, FIR_HALF
    acc = np.zeros(2 * h + 1)
    count = np.zeros(2 * h + 1)
    for pos in range(n // 2, n // 2 + 64):
        impulse = np.zeros(n)
        impulse[pos] = 1.0
        out = soxr.resample(impulse, 2, 1, quality="soxr_hq")
        k = 2 * np.arange(len(out)) - pos
        keep = np.abs(k) <= h
        acc[k[keep] + h] += out[keep]
        count[k[keep] + h] += 1
    taps = acc / count
    taps = (taps + taps[::-1]) / np.sum(taps + taps[::-1])  # soxr's DC gain is exactly 1
    taps /= np.sqrt(0.5)
    probe = np.random.default_rng(0).standard_normal(3001)
    want = soxr.resample(probe, 2, 1, quality="soxr_hq") / np.sqrt(0.5)
    got = np.convolve(probe, taps)[h::2][: len(want)]
    if len(want) != 1501 or np.max(np.abs(got - want)) > 1e-5 * np.max(np.abs(want)):
        raise RuntimeError(f"soxr {soxr.__version__}: 2:1 'soxr_hq' resampling is no longer the expected FIR")
    return taps


@functools.cache
def _fir_spectrum() -> np.ndarray:
    """(FIR_NFFT//2 + 1,) conj(rfft(taps)) / 2: block correlation by FFT.  The
    1/2 turns the FIR_NFFT//2-point irfft of the folded spectrum (the
    correlation's even outputs only) into the FIR_NFFT-point normalisation."""
    return np.conj(scipy.fft.rfft(soxr_fir(), FIR_NFFT)) / 2


def _block_windows(src: _Signal) -> np.ndarray:
    """Read-only (blocks, FIR_NFFT) view of ``src.data``: row q holds the inputs
    of decimated outputs ``[q FIR_BLOCK, (q+1) FIR_BLOCK)``, from input ``2 q FIR_BLOCK - FIR_HALF`` on."""
    base = src.data[src.pad - FIR_HALF :]
    count = (len(base) - FIR_NFFT) // (2 * FIR_BLOCK) + 1
    return np.lib.stride_tricks.as_strided(base, (count, FIR_NFFT), (2 * FIR_BLOCK * base.strides[0], base.strides[0]), writeable=False)


def decimate(src: _Signal, windows: np.ndarray, dst: _Signal, start: int, fir: np.ndarray) -> int:
    """Bring ``dst`` to the 2:1 soxr resampling of ``src`` (length ceil(n/2))
    after ``src`` changed from index ``start`` on (``windows``: ``_block_windows(src)``,
    ``fir``: ``_fir_spectrum()``); return the first index of ``dst`` that was
    rewritten.  Outputs are computed in fixed blocks of FIR_BLOCK, each from
    exactly its own input window, so results do not depend on the call history."""
    h, block, half = FIR_HALF, FIR_BLOCK, FIR_NFFT // 4
    stop = (src.length + 1) // 2
    first = max(0, _ceil_div(start - h - 2 * block + 2, 2 * block))  # first block whose inputs reach `start`
    last = _ceil_div(stop, block)
    if first < last:
        spec = rfft(windows[first:last])
        spec *= fir
        # even outputs of irfft(spec, FIR_NFFT) == irfft(spectrum folded onto FIR_NFFT // 2 points)
        folded = spec[:, : half + 1] + np.conj(spec[:, : half - 1 : -1])
        out = irfft(folded, 2 * half)[:, :block]
        lo = dst.pad + first * block
        dst.data[lo : lo + out.size].reshape(out.shape)[...] = out
        dst.data[dst.pad + stop : lo + out.size] = 0.0  # outputs past the end: the signal is zero there
    dst.length = stop
    return min(first * block, stop)


def _relative_bandwidth(freqs: np.ndarray) -> np.ndarray:
    """librosa.filters._relative_bandwidth."""
    bpo = np.empty_like(freqs)
    logf = np.log2(freqs)
    bpo[0] = 1 / (logf[1] - logf[0])
    bpo[-1] = 1 / (logf[-1] - logf[-2])
    bpo[1:-1] = 2 / (logf[2:] - logf[:-2])
    return (2.0 ** (2 / bpo) - 1) / (2.0 ** (2 / bpo) + 1)


def _wavelet_lengths(freqs: np.ndarray, alpha: np.ndarray, sr: float) -> tuple[np.ndarray, float]:
    """librosa.filters.wavelet_lengths (hann, filter_scale 1, gamma 0): lengths, cutoff (Hz)."""
    q = 1.0 / alpha
    cutoff = max(freqs * (1 + 0.5 * HANN_BANDWIDTH / q) + 0.5 * 0)
    return q * sr / (freqs + 0 / alpha), cutoff


def _octave_basis(sr: float, freqs: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """librosa's ``__vqt_filter_fft`` (complex64 wavelets, FFT, 1% sparsity):
    dense (bins, n_fft//2 + 1) complex128 with the pruned entries zero."""
    lengths, _ = _wavelet_lengths(freqs, alpha, sr)
    n_fft = int(2.0 ** np.ceil(np.log2(max(lengths))))
    basis = np.zeros((len(freqs), n_fft), dtype=np.complex64)
    for row, (ilen, freq) in enumerate(zip(lengths, freqs)):
        angle = np.arange(-ilen // 2, ilen // 2, dtype=float) * 2 * np.pi * freq / sr
        sig = (np.cos(angle) + 1j * np.sin(angle)) * _hann(len(angle))
        sig = sig / np.sum(np.abs(sig))
        lpad = (n_fft - len(sig)) // 2
        basis[row, lpad : lpad + len(sig)] = sig
    basis *= lengths[:, np.newaxis] / float(n_fft)
    fft_basis = scipy.fft.fft(basis, n=n_fft, axis=1)[:, : n_fft // 2 + 1]
    mags = np.abs(fft_basis)
    mag_sort = np.sort(mags, axis=1)
    cumulative = np.cumsum(mag_sort / np.sum(mags, axis=1, keepdims=True), axis=1)
    threshold = mag_sort[np.arange(len(freqs)), np.argmin(cumulative < CQT_SPARSITY, axis=1)]
    return np.where(mags >= threshold[:, None], fft_basis, 0).astype(np.complex128)


class _CqtPlan:
    """Per-sample-rate constants of ``librosa.cqt`` (defaults): which resampled
    stage each octave reads and its hop, and the octaves' common n_fft, (12, bins
    in ``band``) basis over the rfft bins ``band`` (rows pre-scaled by
    sqrt(2**octave) / sqrt(filter length), librosa's two normalisations) and
    filters: ``frames @ filters`` (n_fft, 2 x 12) is the real, then the imaginary
    part of ``basis @ rfft(frames)[band]``, without the FFT."""

    def __init__(self, sample_rate: int) -> None:
        freqs = CQT_FMIN * np.sort(
            np.multiply.outer(
                2.0 ** np.arange(np.ceil(CQT_BINS / CQT_BPO)), 2.0 ** ((0.0 + np.arange(0, CQT_BPO, dtype=float)) / CQT_BPO)
            ).flatten()[:CQT_BINS]
        )
        alpha = _relative_bandwidth(freqs)
        _, cutoff = _wavelet_lengths(freqs, alpha, sample_rate)
        nyquist = sample_rate / 2.0
        n_octaves = _ceil_div(CQT_BINS, CQT_BPO)
        if cutoff > nyquist:
            raise ValueError(f"cqt: sample_rate={sample_rate} Hz is too low (the top CQT filter reaches {cutoff:.0f} Hz)")
        two_factors = (HOP & -HOP).bit_length() - 1
        early = min(max(0, int(np.ceil(np.log2(nyquist / cutoff)) - 1) - 1), max(0, two_factors - n_octaves + 1))
        if early > 1:
            raise ValueError(
                f"cqt: sample_rate={sample_rate} Hz needs librosa's {2**early}x early downsampling, which is not "
                f"supported (sample rates up to {int(16 * cutoff)} Hz are)"
            )
        sr = sample_rate / 2**early
        lengths, _ = _wavelet_lengths(freqs, alpha, sr)
        self.n_stages = early + n_octaves  # stage s: input resampled 2:1 s times
        self.octaves = [(early + octave, HOP >> (early + octave)) for octave in range(n_octaves)]  # (stage, hop)
        # Octave k's filters are octave 0's at half the frequency and half the rate: the same basis up to
        # ~1e-15 rounding of its frequency ratios, so all octaves share octave 0's.
        rows = slice(CQT_BINS - CQT_BPO, CQT_BINS)
        basis = _octave_basis(sr, freqs[rows], alpha[rows]) / np.sqrt(lengths[rows])[:, None]
        self.n_fft = 2 * (basis.shape[1] - 1)
        used = np.flatnonzero(np.any(basis != 0, axis=0))
        self.band = slice(used[0], used[-1] + 1)  # the rfft bins the filters use
        self.basis = basis[:, self.band]  # (12, bins in band) complex, the pruned entries 0
        phase = np.outer(np.arange(self.n_fft), np.arange(used[0], used[-1] + 1)) % self.n_fft  # exact: the rfft's angles, reduced
        response = np.exp(-2j * np.pi * phase / self.n_fft) @ self.basis.T  # (n_fft, 12): frame @ response = basis @ rfft(frame)[band]
        self.filters = np.ascontiguousarray(np.concatenate([response.real, response.imag], axis=1))


@functools.lru_cache(maxsize=8)
def cqt_plan(sample_rate: int) -> _CqtPlan:
    return _CqtPlan(sample_rate)


class CqtEnergy:
    """Per-frame energy ``sum_bins |C[bin, t]|**2`` of ``librosa.cqt`` (defaults)
    of a growing signal.

    Mirrors librosa's multirate algorithm: a chain of 2:1 soxr-equivalent
    decimations (stage s at ``sample_rate / 2**s``), each octave an
    unwindowed STFT of its stage times the sparse filter basis.  ``extend``
    recomputes, per stage, the FIR blocks and frames that reach the changed
    samples (FIR tails and block alignment reach back ~500 stage samples);
    each octave's frames go through one product with the filters."""

    def __init__(self, capacity: int, sample_rate: int) -> None:
        self.plan = cqt_plan(sample_rate)
        self.fir = _fir_spectrum()  # extracted from soxr on first use: fail early, not at the first step
        n_fft = self.plan.n_fft
        pad = max(FIR_HALF, n_fft // 2)
        tail = pad + FIR_NFFT + 2 * FIR_BLOCK + HOP
        self.stages = [_Signal(_ceil_div(capacity, 2**s), pad=pad, tail=tail) for s in range(self.plan.n_stages)]
        self.counts = [n_frames(_ceil_div(capacity, 2**stage), hop) for stage, hop in self.plan.octaves]  # frames per octave
        self.views()
        self.energy = np.zeros((len(self.frames), max(self.counts)))  # (octaves, frames)

    @property
    def signal(self) -> _Signal:
        """Stage 0: the signal itself."""
        return self.stages[0]

    def views(self) -> None:
        """(Re)build the strided views of the stages (after their ``data`` arrays were replaced)."""
        self.windows = [_block_windows(stage) for stage in self.stages[:-1]]
        self.frames = [  # per octave: (frames, n_fft) read-only view of librosa's centred frames of its stage
            _frames_view(self.stages[stage].data[None], self.stages[stage].pad, self.plan.n_fft, hop, count)[0]
            for (stage, hop), count in zip(self.plan.octaves, self.counts)
        ]

    def clear(self) -> None:
        for stage in self.stages:
            stage.clear()

    def extend(self, start: int, samples: np.ndarray) -> float:
        """Write ``samples`` at ``start``; return the mean over the 2 x 84 x T
        real/imaginary CQT entries of their square (i.e. energy / (2 * 84 * T))."""
        stages, n_fft = self.stages, self.plan.n_fft
        stages[0].write(start, samples)
        changed = [start]
        for s in range(1, self.plan.n_stages):
            changed.append(decimate(stages[s - 1], self.windows[s - 1], stages[s], changed[-1], self.fir))
        n = 0
        for octave, (stage, hop) in enumerate(self.plan.octaves):
            stop = n_frames(stages[stage].length, hop)
            first = first_changed_frame(changed[stage], hop=hop, n_fft=n_fft)
            if first < stop:
                self.energy[octave, first:stop] = frame_energies(self.frames[octave][None], first, stop, self.plan.filters)[0]
            n = stop if octave == 0 else min(n, stop)
        return float(np.sum(self.energy[:, :n]) / (2 * CQT_BINS * n))


FILTER_ROWS = 40  # frames per product: OpenBLAS stays on one thread (M*N*K <= 262144); its threads only contend


def frame_energies(frames: np.ndarray, first: int, stop: int, filters: np.ndarray) -> np.ndarray:
    """(m, stop - first) CQT energies ``sum_bins |C|**2`` of frames [first, stop) of the (m, count,
    n_fft) ``frames``: ``frames @ filters`` squared and summed, in products of 2 to FILTER_ROWS
    rows.  A row's bits then depend on the row alone (BLAS takes another path for a lone row,
    so one is computed with a neighbour): incremental, from-scratch and batched calls agree."""
    lo, hi = first, stop
    if hi - lo == 1 and frames.shape[1] > 1:
        lo, hi = (lo - 1, hi) if lo else (lo, hi + 1)
    rows = np.ascontiguousarray(frames[:, lo:hi]).reshape(-1, frames.shape[2])
    out = np.empty(len(rows))
    for a in range(0, len(rows), FILTER_ROWS):
        a = max(0, min(a, len(rows) - 2))  # a lone last row goes with the one before it
        response = rows[a : a + FILTER_ROWS] @ filters
        np.einsum("ij,ij->i", response, response, out=out[a : a + len(response)])
    return out.reshape(len(frames), hi - lo)[:, first - lo : stop - lo]


def _frames_view(data: np.ndarray, pad: int, n_fft: int, hop: int, count: int) -> np.ndarray:
    """Read-only (m, count, n_fft) view of the centred frames of each row of ``data`` (rows laid out
    as ``_Signal.data`` with ``pad``): frame j covers samples ``[j*hop - n_fft//2, j*hop + n_fft//2)``."""
    base = data[:, pad - n_fft // 2 :]
    return np.lib.stride_tricks.as_strided(base, (len(data), count, n_fft), (data.strides[0], hop * data.strides[1], data.strides[1]), writeable=False)


def _decimate_many(src: np.ndarray, dst: np.ndarray, pad: int, src_length: int, start: int, fir: np.ndarray) -> int:
    """:func:`decimate` for m rows at once, bit-identical: ``src``, ``dst`` (m, ...) stage rows laid
    out as ``_Signal.data`` with ``pad``, ``src`` holding ``src_length`` samples changed from ``start``."""
    h, block, half = FIR_HALF, FIR_BLOCK, FIR_NFFT // 4
    stop = (src_length + 1) // 2
    first = max(0, _ceil_div(start - h - 2 * block + 2, 2 * block))
    last = _ceil_div(stop, block)
    if first < last:
        base = src[:, pad - FIR_HALF :]
        count = (base.shape[1] - FIR_NFFT) // (2 * FIR_BLOCK) + 1
        windows = np.lib.stride_tricks.as_strided(base, (len(src), count, FIR_NFFT), (src.strides[0], 2 * FIR_BLOCK * src.strides[1], src.strides[1]), writeable=False)
        spec = rfft(windows[:, first:last])
        spec *= fir
        folded = spec[..., : half + 1] + np.conj(spec[..., : half - 1 : -1])
        out = irfft(folded, 2 * half)[..., :block]
        lo = pad + first * block
        dst[:, lo : lo + out.shape[1] * block] = out.reshape(len(dst), -1)
        dst[:, pad + stop : lo + out.shape[1] * block] = 0.0
    return min(first * block, stop)


def cqt_energies(head: CqtEnergy, stages: list[np.ndarray], energy: np.ndarray, start: int, length: int) -> tuple[np.ndarray, list[int]]:
    """``CqtEnergy.extend`` for m signals at once, bit-identical: ``stages`` (one (m, ...) array of
    rows per stage, laid out as ``head``'s) and ``energy`` (m, octaves, frames) are the trackers' rows,
    stage 0 already holding the samples up to ``length``, changed from ``start`` on; the other stages
    are brought up to date.  Returns the (m,) means and the stages' lengths (to set on the trackers)."""
    plan, pad, n_fft = head.plan, head.stages[0].pad, head.plan.n_fft
    changed, lengths = [start], [length]
    for s in range(1, plan.n_stages):
        changed.append(_decimate_many(stages[s - 1], stages[s], pad, lengths[-1], changed[-1], head.fir))
        lengths.append((lengths[-1] + 1) // 2)
    n = 0
    for octave, (stage, hop) in enumerate(plan.octaves):
        stop = n_frames(lengths[stage], hop)
        first = first_changed_frame(changed[stage], hop=hop, n_fft=n_fft)
        if first < stop:
            energy[:, octave, first:stop] = frame_energies(_frames_view(stages[stage], pad, n_fft, hop, head.counts[octave]), first, stop, plan.filters)
        n = stop if octave == 0 else min(n, stop)
    return np.array([np.sum(e[:, :n]) for e in energy]) / (2 * CQT_BINS * n), lengths


# ------------------------------------------------- magnitude spectra (robust rewards)

MAG_FLOOR = 1e-8  # power floor before the square root (auraloss's eps): magnitudes >= 1e-4


@functools.lru_cache(maxsize=32)
def centred_hann(n_fft: int, win: int) -> np.ndarray:
    """(n_fft,) periodic Hann of length ``win`` zero-padded to ``n_fft`` on both sides
    (as torch.stft / librosa do with ``win_length < n_fft``)."""
    window = np.zeros(n_fft)
    lpad = (n_fft - win) // 2
    window[lpad : lpad + win] = _hann(win)
    return window


class Magnitudes:
    """Per-frame STFT magnitudes ``sqrt(max(floor, |X[t, f]|**2))`` of a growing signal:
    centred frames of ``n_fft`` with zero padding, hop ``hop``, a Hann window of ``win``
    samples (``win <= n_fft``).  With ``power=True``, the power ``|X[t, f]|**2`` instead
    (``re**2 + im**2``, no floor, no square root).  ``extend`` returns the recomputed frames only."""

    def __init__(self, capacity: int, n_fft: int, hop: int, win: int, floor: float = MAG_FLOOR, *, power: bool = False) -> None:
        if not (0 < hop and 0 < win <= n_fft):
            raise ValueError(f"need 0 < hop and 0 < win <= n_fft, got n_fft={n_fft}, hop={hop}, win={win}")
        self.n_fft, self.hop, self.floor, self.power = n_fft, hop, floor, power
        self._floor_magnitude = np.sqrt(floor)
        self.signal = _Signal(capacity, pad=n_fft // 2, tail=n_fft // 2 + hop)
        self.window = centred_hann(n_fft, win)

    def clear(self) -> None:
        self.signal.clear()

    def extend(self, start: int, samples: np.ndarray) -> tuple[int, int, np.ndarray]:
        """Write ``samples`` at ``start``; return (first, stop, (stop - first, n_fft//2 + 1) magnitudes
        or powers): frames [first, stop) changed, stop is the prefix's frame count."""
        self.signal.write(start, samples)
        stop = n_frames(self.signal.length, self.hop)
        first = first_changed_frame(start, hop=self.hop, n_fft=self.n_fft)
        return first, stop, self._from_spectrum(rfft(self.signal.frames(first, stop, hop=self.hop, n_fft=self.n_fft) * self.window))

    def _from_spectrum(self, spec: np.ndarray) -> np.ndarray:
        """(..., bins) float64 magnitudes or powers of the complex ``spec``."""
        if self.power:
            power = np.multiply(spec.real, spec.real)
            power += np.square(spec.imag)
            return power
        mags = np.abs(spec)
        return np.maximum(mags, self._floor_magnitude, out=mags)


def changed_frames(tracker: Magnitudes, start: int, length: int) -> tuple[int, int]:
    """(first, stop): the frames ``tracker.extend`` recomputes when a signal of ``length`` samples
    changed from ``start`` on."""
    return first_changed_frame(start, hop=tracker.hop, n_fft=tracker.n_fft), n_frames(length, tracker.hop)


def magnitudes_many(data: np.ndarray, tracker: Magnitudes, start: int, length: int, scratch) -> np.ndarray:
    """``tracker.extend`` for m signals at once, bit-identical: ``data`` (m, ...) rows laid out as
    ``tracker.signal.data``, already holding the samples up to ``length``, changed from ``start``
    on; returns the (m, stop - first, n_fft//2 + 1) magnitudes (or powers) of ``changed_frames``."""
    n_fft, hop = tracker.n_fft, tracker.hop
    first, stop = changed_frames(tracker, start, length)
    lo = tracker.signal.pad + first * hop - n_fft // 2
    hi = lo + (stop - first - 1) * hop + n_fft
    frames = sliding_window_view(data[:, lo:hi], n_fft, axis=1)[:, ::hop]
    return tracker._from_spectrum(rfft(np.multiply(frames, tracker.window, out=scratch(frames.shape))))


def cumsum_rows(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``np.cumsum(x, axis=-1, out=out)`` for float64 (..., n) ``x``, bit for bit, about 1.4x faster:
    rows are summed two at a time as the real and imaginary parts of complex numbers (numpy's
    accumulation waits for each add; a complex add does two).  ``out`` may be ``x``, or a view
    whose leading axes merge into one (``out[..., :n]`` of a wider array)."""
    n = x.shape[-1]
    rows = x.reshape(-1, n)
    half = (len(rows) + 1) // 2
    pairs = np.empty((half, n, 2))
    pairs[:, :, 0] = rows[:half]
    pairs[: len(rows) - half, :, 1] = rows[half:]
    pairs[len(rows) - half :, :, 1] = 0.0
    z = pairs.view(np.complex128)[..., 0]
    np.cumsum(z, axis=-1, out=z)
    flat = out.view()
    flat.shape = (len(rows), n)  # raises rather than copy
    flat[:half] = pairs[:, :, 0]
    flat[half:] = pairs[: len(rows) - half, :, 1]
    return out


def log_frequency_steps(n_fft: int, sample_rate: int, fmin: float) -> np.ndarray:
    """(n_fft//2,) octaves between consecutive rfft bins on the axis ``log2(max(f, fmin))``:
    the widths over which a spectrum's CDF is integrated for 1-D optimal transport."""
    u = np.log2(np.maximum(np.fft.rfftfreq(n_fft, 1.0 / sample_rate), fmin))
    return np.diff(u)
