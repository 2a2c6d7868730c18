"""Sample files with real bytes: the FASTQ inputs and the deliverables of a succeeded sample.

The facts list no deliverable file types (§3.4 gives only the file record's fields). [I] A human
low-pass imputation pipeline's usual outputs are used: ``bam``, ``bai``, ``impute-vcf``, ``impute-tbi``
and ``ancestry-json``; ``fastq-r1``/``fastq-r2`` (the inputs) are the names in the CLI's fixtures.
A sample that fails (QC or otherwise) keeps only its inputs (§3.3, [D] "delivers only the original
inputs").
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import shutil
from typing import TYPE_CHECKING

from airflow_provider_tis.testing.gencove.records import SampleFile, new_id

if TYPE_CHECKING:
    from pathlib import Path

    from airflow_provider_tis.testing.gencove.records import Sample

INPUT_TYPES = ("fastq-r1", "fastq-r2")
#: Deliverables of a succeeded sample, with each file name's ending (the name starts with the sample id).
DELIVERABLES: dict[str, str] = {
    "bam": ".bam",
    "bai": ".bam.bai",
    "impute-vcf": ".vcf.gz",
    "impute-tbi": ".vcf.gz.tbi",
    "ancestry-json": ".ancestry.json",
}
#: File name endings of the inputs, as the CLI's fixtures name them (``<sample id>_R1.fastq.gz``).
INPUT_SUFFIX = {"fastq-r1": "_R1.fastq.gz", "fastq-r2": "_R2.fastq.gz"}
#: ``GET /file-types/`` descriptions [I].
DESCRIPTIONS = {
    "fastq-r1": "FASTQ R1 (input)",
    "fastq-r2": "FASTQ R2 (input)",
    "bam": "Alignment (BAM)",
    "bai": "Alignment index (BAI)",
    "impute-vcf": "Imputed genotypes (VCF)",
    "impute-tbi": "Imputed genotypes index (TBI)",
    "ancestry-json": "Ancestry (JSON)",
}


def fastq_bytes(client_id: str, read: str, reads: int = 50) -> bytes:
    """A small gzipped FASTQ (deterministic for a client id and read)."""
    rng = random.Random(f"{client_id}/{read}")
    lines = []
    for i in range(reads):
        bases = "".join(rng.choice("ACGT") for _ in range(100))
        lines += [f"@{client_id}:{i + 1} {read[-1]}:N:0", bases, "+", "I" * 100]
    return gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)


def _vcf(client_id: str) -> bytes:
    header = [
        "##fileformat=VCFv4.2",
        "##source=gencove-simulator",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        f"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{client_id}",
    ]
    rng = random.Random(client_id)
    rows = [
        f"20\t{60000 + 137 * i}\t.\t{ref}\t{alt}\t.\tPASS\t.\tGT\t{rng.choice(('0|0', '0|1', '1|1'))}"
        for i, (ref, alt) in enumerate([("A", "G"), ("C", "T"), ("G", "A"), ("T", "C")] * 10)
    ]
    return gzip.compress(("\n".join(header + rows) + "\n").encode(), mtime=0)


def _deliverable(file_type: str, sample: Sample, bam_size: int) -> bytes:
    rng = random.Random(f"{sample.id}/{file_type}")
    if file_type == "bam":
        return b"BAM\x01" + rng.randbytes(max(0, bam_size - 4))
    if file_type == "impute-vcf":
        return _vcf(sample.client_id)
    if file_type == "ancestry-json":
        return json.dumps({"sample": sample.client_id, "ancestry": {"EUR": 0.62, "AFR": 0.38}}).encode()
    return rng.randbytes(256)  # an index: opaque bytes


def _record(sample: Sample, file_type: str, filename: str, path: Path, organization: str) -> SampleFile:
    sha, md5 = hashlib.sha256(), hashlib.md5()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            sha.update(block)
            md5.update(block)
    s3_path = f"organization/{organization}/project/{sample.project_id}/sample/{sample.id}/{filename}"  # [I]
    return SampleFile(
        new_id(),
        sample.id,
        file_type,
        filename,
        s3_path,
        path,
        path.stat().st_size,
        sha.hexdigest(),
        md5.hexdigest(),
    )


def input_files(sample: Sample, folder: Path, organization: str) -> list[SampleFile]:
    """The sample's FASTQ inputs as sample files, copied into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for file_type, source in sample.inputs.items():
        filename = f"{sample.id}{INPUT_SUFFIX[file_type]}"
        target = folder / filename
        shutil.copyfile(source, target)
        files.append(_record(sample, file_type, filename, target, organization))
    return files


def deliverable_files(
    sample: Sample, folder: Path, organization: str, file_types: tuple[str, ...], bam_size: int
) -> list[SampleFile]:
    """Write the deliverables of a succeeded sample into ``folder``; their records."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for file_type in file_types:
        if file_type in INPUT_TYPES:
            continue
        filename = f"{sample.id}{DELIVERABLES.get(file_type, '.' + file_type)}"
        target = folder / filename
        target.write_bytes(_deliverable(file_type, sample, bam_size))
        files.append(_record(sample, file_type, filename, target, organization))
    return files
