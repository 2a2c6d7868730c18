"""What a CGI job writes: its log lines over time, and the results zip derived from its inputs.

Seen on the real service [U, 2025-12]: the logs start with ``# cgi analyze input.tsv -c HEMATO -g hg38``,
then Python logging lines ``2025-12-06 15:05:13,869 INFO     Parsing input01.tsv\\n`` (each ends with a
newline), the last one ``... INFO     Analysis done\\n``. A mutations run's zip holds ``alterations.tsv``,
``biomarkers.tsv``, ``input01.tsv`` and ``summary.txt``. Everything else here is [I].
"""

from __future__ import annotations

import zipfile
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from airflow_provider_tis.testing.cgi.formats import DEFAULT_SAMPLE, Alteration, ParsedInput

if TYPE_CHECKING:
    from pathlib import Path

#: Members of the results zip by input kind (always also ``biomarkers.tsv`` and ``summary.txt``).
#: Mutations: seen [U]. CNAs and translocations: the 2018 release's names ``cna_analysis.tsv`` and
#: ``fusion_analysis.tsv`` [I] (never seen from the current service).
RESULT_MEMBERS = {
    "mutations": ("alterations.tsv", "input01.tsv"),
    "cnas": ("cna_analysis.tsv",),
    "translocations": ("fusion_analysis.tsv",),
}
ALWAYS = ("biomarkers.tsv", "summary.txt")

#: The pipeline's steps per input kind (mutations: as seen [U]; the others [I]).
_STEPS = {
    "mutations": (
        "Parsing input01.tsv",
        "Running VEP",
        "Check cancer genes and consensus roles",
        "Annotate BoostDM mutations",
        "Annotate OncodriveMUT mutations",
        "Annotate validated oncogenic mutations",
        "Check oncogenic classification",
    ),
    "cnas": ("Parsing cnas", "Annotate copy number alterations"),
    "translocations": ("Parsing translocations", "Annotate fusions"),
}
_TAIL = ("Matching biomarkers", "Prescription finished", "Aggregate metrics", "Compress output files")
DONE_LINE = "Analysis done"

#: The log's clock runs an hour ahead of ``metadata.date`` in the one real sample [U] (server local time
#: vs UTC, presumably): kept, so a client never compares the two.
LOG_ZONE = timezone(timedelta(hours=1))

# (reference, chromosome without "chr", position, ref, alt) -> gene, protein change, transcript
_KNOWN = {
    ("hg19", "7", "140453136", "A", "T"): ("BRAF", "V600E", "ENST00000288602"),
    ("hg19", "12", "25398284", "C", "T"): ("KRAS", "G12D", "ENST00000256078"),
    ("hg19", "17", "7578406", "C", "T"): ("TP53", "R175H", "ENST00000269305"),
    ("hg38", "1", "114716123", "C", "T"): ("NRAS", "G13D", "ENST00000369535"),
    ("hg38", "9", "5073770", "G", "T"): ("JAK2", "V617F", "ENST00000381652"),
}
# gene and alteration -> (drug, response) for biomarkers.tsv [I]
_BIOMARKERS = {
    ("BRAF", "V600E"): ("Vemurafenib", "Responsive"),
    ("KRAS", "G12D"): ("Cetuximab", "Resistant"),
    ("JAK2", "V617F"): ("Ruxolitinib", "Responsive"),
    ("ERBB2", "AMP"): ("Trastuzumab", "Responsive"),
    ("BCR__ABL1", "fusion"): ("Imatinib", "Responsive"),
}


def log_stamp(moment: float) -> str:
    """A Python logging timestamp (``2025-12-06 15:05:13,869``) in the log's zone."""
    stamp = datetime.fromtimestamp(moment, tz=LOG_ZONE)
    return f"{stamp:%Y-%m-%d %H:%M:%S},{stamp.microsecond // 1000:03d}"


def log_line(moment: float, level: str, message: str) -> str:
    """One pipeline log line as the service returns it (``%(asctime)s %(levelname)-8s %(message)s\\n``)."""
    return f"{log_stamp(moment)} {level:<8} {message}\n"


def command_line(dataset: str, cancer_type: str, reference: str) -> str:
    """The first log line: the command the service ran (no timestamp, no newline, as seen [U])."""
    return f"# cgi analyze {dataset} -c {cancer_type} -g {reference}"


def plan_steps(kinds: list[str]) -> list[str]:
    """Step messages a successful run logs, in order; the last is :data:`DONE_LINE`."""
    steps = [s for kind in kinds for s in _STEPS[kind]]
    return [*steps, *_TAIL, DONE_LINE]


def parse_step(kind: str) -> str:
    """The step message at which a bad ``kind`` input fails the job."""
    return _STEPS[kind][0]


# -- the results zip -------------------------------------------------------------------------------


def _tsv(header: list[str], rows: list[list[str]]) -> bytes:
    return ("\n".join("\t".join(r) for r in [header, *rows]) + "\n").encode()


def _mutation_rows(parsed: ParsedInput, reference: str) -> tuple[bytes, list[tuple[Alteration, str, str]]]:
    """``alterations.tsv``: the input's columns plus the CGI annotation columns seen [U]."""
    own = [h for h in parsed.header if h.upper() not in ("CHROMOSOME", "POSITION", "REF", "ALT")]
    header = ["Input ID", "CHROMOSOME", "POSITION", "REF", "ALT", *own, "ALT_TYPE", "STRAND"]
    header += [
        "CGI-Sample ID", "CGI-Gene", "CGI-Protein Change", "CGI-Oncogenic Summary",
        "CGI-Oncogenic Prediction", "CGI-External oncogenic annotation", "CGI-Mutation",
        "CGI-Consequence", "CGI-Transcript", "CGI-STRAND", "CGI-Type",
    ]  # fmt: skip
    rows, hits = [], []
    for index, alt in enumerate(parsed.rows, 1):
        v = alt.values
        chrom = v.get("chr", ".").removeprefix("chr") or "."
        pos, ref, allele = v.get("pos", "."), v.get("ref", "."), v.get("alt", ".")
        gene, change, transcript = _KNOWN.get(
            (reference, chrom, pos, ref.upper(), allele.upper()), (".", ".", ".")
        )
        if parsed.layout == "protein":
            gene, _, change = v["protein"].partition(":p.")
        known = gene != "."
        snv = len(ref) == len(allele) == 1 and "-" not in (ref, allele)
        summary = "oncogenic (annotated)" if known else "non-oncogenic (predicted)"
        prediction = "driver (boostDM: non-tissue-specific model)" if known else "passenger (oncodriveMUT)"
        cells = [f"{alt.sample}_{index}", chrom, pos, ref, allele, *(v.get(h.lower(), "") for h in own)]
        cells += ["snp" if snv else "indel", "+", alt.sample, gene, change, summary, prediction]
        cells += ["cgi,oncokb" if known else "", f"chr{chrom}:{pos} {ref}>{allele}"]
        cells += ["missense_variant" if snv else "inframe_indel", transcript, "+", "SNV" if snv else "INDEL"]
        rows.append(cells)
        if known:
            hits.append((alt, gene, change))
    return _tsv(header, rows), hits


def _cna_rows(parsed: ParsedInput) -> tuple[bytes, list[tuple[Alteration, str, str]]]:
    header = ["Input ID", "gene", "cna", "CGI-Sample ID", "CGI-Gene", "CGI-Type", "CGI-Oncogenic Summary"]
    rows, hits = [], []
    for index, alt in enumerate(parsed.rows, 1):
        gene, cna = alt.values["gene"], alt.values["cna"].upper()
        known = (gene, cna) in _BIOMARKERS
        summary = "oncogenic (annotated)" if known else "non-oncogenic (predicted)"
        rows.append([f"{alt.sample}_{index}", gene, cna, alt.sample, gene, cna, summary])
        hits.append((alt, gene, cna))
    return _tsv(header, rows), hits


def _fusion_rows(parsed: ParsedInput) -> tuple[bytes, list[tuple[Alteration, str, str]]]:
    header = ["Input ID", "fus", "CGI-Sample ID", "CGI-5' Gene", "CGI-3' Gene", "CGI-Oncogenic Summary"]
    rows, hits = [], []
    for index, alt in enumerate(parsed.rows, 1):
        fusion = alt.values["fus"]
        five, _, three = fusion.partition("__")
        known = (fusion, "fusion") in _BIOMARKERS
        summary = "oncogenic (annotated)" if known else "non-oncogenic (predicted)"
        rows.append([f"{alt.sample}_{index}", fusion, alt.sample, five, three, summary])
        hits.append((alt, fusion, "fusion"))
    return _tsv(header, rows), hits


def write_results(
    path: Path, inputs: dict[str, ParsedInput], *, cancer_type: str, reference: str, title: str
) -> list[str]:
    """Write the results zip of a successful job; returns its member names.

    :param path: the zip to write.
    :param inputs: the parsed inputs by kind (see :data:`RESULT_MEMBERS` for what each adds).
    :param cancer_type: the job's cancer type (in ``summary.txt`` and the biomarkers' disease column).
    :param reference: ``hg19`` or ``hg38`` (the hotspot table is per build).
    :param title: the job title (in ``summary.txt``).
    """
    members: dict[str, bytes] = {}
    hits: list[tuple[Alteration, str, str]] = []
    if "mutations" in inputs:
        members["alterations.tsv"], found = _mutation_rows(inputs["mutations"], reference)
        members["input01.tsv"] = inputs["mutations"].text.encode()
        hits += found
    if "cnas" in inputs:
        members["cna_analysis.tsv"], found = _cna_rows(inputs["cnas"])
        hits += found
    if "translocations" in inputs:
        members["fusion_analysis.tsv"], found = _fusion_rows(inputs["translocations"])
        hits += found
    biomarkers = []
    for alt, gene, change in hits:
        if (gene, change) in _BIOMARKERS:
            drug, response = _BIOMARKERS[(gene, change)]
            alteration = gene if change == "fusion" else f"{gene} {change}"
            biomarkers.append([alt.sample, alteration, drug, response, cancer_type, "A", "complete"])
    header = ["Sample ID", "Alterations", "Drugs", "Response", "Diseases", "Evidence", "Match"]
    members["biomarkers.tsv"] = _tsv(header, biomarkers)
    samples = sorted({a.sample for p in inputs.values() for a in p.rows} or {DEFAULT_SAMPLE})
    counts = "".join(f"{kind.capitalize()}: {len(p.rows)}\n" for kind, p in inputs.items())
    members["summary.txt"] = (
        f"Title: {title}\nCancer type: {cancer_type}\nReference: {reference}\n"
        f"Samples: {len(samples)} ({', '.join(samples)})\n{counts}Biomarkers: {len(biomarkers)}\n"
    ).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return list(members)
