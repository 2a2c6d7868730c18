"""Small, valid bgzipped VCFs for tests and demos, and the reader the simulator validates uploads with."""

from __future__ import annotations

import gzip
import random
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

BGZF_MAGIC = b"\x1f\x8b\x08\x04"
_BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
_BLOCK_INPUT = 65280


def _bgzf_block(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    payload = compressor.compress(data) + compressor.flush()
    header = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00"
    block_size = len(header) + 2 + len(payload) + 8
    return (
        header
        + struct.pack("<H", block_size - 1)
        + payload
        + struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF)
    )


def write_bgzf(out: BinaryIO, data: bytes) -> None:
    """Write ``data`` as BGZF blocks followed by the BGZF end-of-file marker."""
    for start in range(0, len(data), _BLOCK_INPUT):
        out.write(_bgzf_block(data[start : start + _BLOCK_INPUT]))
    out.write(_BGZF_EOF)


def vcf_text(
    *,
    samples: int = 25,
    chromosomes: tuple[str, ...] = ("20",),
    snps: int = 40,
    build: str = "hg19",
    seed: int = 1,
) -> bytes:
    """A phased, biallelic VCF with ``snps`` records per chromosome."""
    rng = random.Random(seed)
    prefix = "chr" if build == "hg38" else ""
    names = [f"S{i + 1}" for i in range(samples)]
    lines = ["##fileformat=VCFv4.2", f"##reference={build}"]
    lines += [f"##contig=<ID={prefix}{c}>" for c in chromosomes]
    lines.append("\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *names]))
    for chrom in chromosomes:
        for i in range(snps):
            ref, alt = rng.sample("ACGT", 2)
            genotypes = [f"{rng.randint(0, 1)}|{rng.randint(0, 1)}" for _ in names]
            lines.append(
                "\t".join(
                    [
                        f"{prefix}{chrom}",
                        str(60000 + 137 * i),
                        f"rs{i + 1}",
                        ref,
                        alt,
                        ".",
                        "PASS",
                        ".",
                        "GT",
                        *genotypes,
                    ]
                )
            )
    return ("\n".join(lines) + "\n").encode()


def write_vcf(path: str | Path, **kwargs: object) -> Path:
    """Write a valid bgzipped VCF (see :func:`vcf_text` for the options) and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        write_bgzf(out, vcf_text(**kwargs))  # type: ignore[arg-type]
    return path


class VcfError(ValueError):
    """The file is not a valid bgzipped VCF; the message is the pipeline's."""


@dataclass(frozen=True)
class VcfSummary:
    samples: int
    chromosomes: tuple[str, ...]
    snps: int


def inspect_vcf(path: Path) -> VcfSummary:
    """Read a whole uploaded VCF as the pipeline's input validation does."""
    with path.open("rb") as raw:
        head = raw.read(18)
    if head[:4] != BGZF_MAGIC or head[12:14] != b"BC":
        raise VcfError(
            f"The provided VCF file is not bgzip compressed: {path.name}. Please use bgzip (htslib)."
        )
    samples = -1
    chromosomes: dict[str, None] = {}
    snps = 0
    try:
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as text:
            for number, line in enumerate(text, 1):
                if line.startswith("##"):
                    continue
                fields = line.rstrip("\n").split("\t")
                if line.startswith("#CHROM"):
                    samples = len(fields) - 9
                    continue
                if samples < 0 or len(fields) != samples + 9:
                    raise VcfError(f"The provided VCF file is malformed at line {number}: {path.name}.")
                chromosomes.setdefault(fields[0], None)
                snps += 1
    except (OSError, EOFError, zlib.error) as exc:
        raise VcfError(f"The provided VCF file is malformed: {path.name} ({exc}).") from None
    if samples < 0:
        raise VcfError(f"The provided VCF file has no header line (#CHROM ...): {path.name}.")
    return VcfSummary(samples=samples, chromosomes=tuple(chromosomes), snps=snps)
