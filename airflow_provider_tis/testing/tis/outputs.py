"""The files an imputation job exports, shaped like the pipeline's."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from airflow_provider_tis.testing.tis.vcf import vcf_text, write_bgzf
from airflow_provider_tis.testing.tis.zipcrypt import write_encrypted_zip

if TYPE_CHECKING:
    from pathlib import Path


def write_outputs(
    output_dir: Path,
    *,
    chromosomes: tuple[str, ...],
    password: str,
    aes: bool,
    md5: bool,
    padding: int,
    qc: bool,
) -> list[tuple[str, Path]]:
    """Write the exported files; returns (name as listed by the server, path) pairs.

    :param chromosomes: one encrypted ``chr_<N>.zip`` each (empty for failed, canceled or QC-only jobs).
    :param qc: whether quality control ran, so its report and statistics exist.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    written: list[tuple[str, Path]] = []

    def put(name: str, data: bytes) -> Path:
        path = output_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append((name, path))
        return path

    for chrom in chromosomes:
        dose = output_dir / f"chr{chrom}.dose.vcf.gz.tmp"
        with dose.open("wb") as out:
            write_bgzf(
                out,
                vcf_text(
                    chromosomes=(chrom,), samples=25, snps=60, seed=int(chrom) if chrom.isdigit() else 7
                ),
            )
        entries = {
            f"chr{chrom}.dose.vcf.gz": dose.read_bytes(),
            f"chr{chrom}.info": f"SNP\tREF(0)\tALT(1)\tRsq\n{chrom}:60000:A:G\tA\tG\t0.98\n".encode(),
        }
        dose.unlink()
        zip_path = output_dir / f"chr_{chrom}.zip"
        with zip_path.open("wb") as out:
            write_encrypted_zip(out, entries, password, aes=aes, padding=padding)
        written.append((zip_path.name, zip_path))
        if md5:
            digest = md5_of(zip_path)
            put(f"chr_{chrom}.zip.md5", f"{digest}  chr_{chrom}.zip\n".encode())
    if qc:
        put(
            "qc_report.txt",
            b"Quality control report\nAlternative allele frequency > 0.5 sites: 0\nStrand flips: 0\n",
        )
        put("quality-control.html", b"<html><body><h1>Quality Control</h1></body></html>\n")
        put("statistics/summary.txt", b"Statistics\nExcluded sites in total: 0\n")
        put("statistics/snps-excluded.txt", b"#Position\tFilterType\tInfo\n")
        put(
            "statistics/chunks-excluded.txt",
            b"#Chunk\tSNPs (#)\tReference Overlap (%)\tLow Sample Call Rates (#)\n",
        )
    return written


def md5_of(path: Path) -> str:
    """MD5 of a file, read in 1 MiB blocks (``hashlib.file_digest`` needs Python 3.11)."""
    digest = hashlib.md5()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
