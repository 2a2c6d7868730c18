"""CGI input files: writers for small valid ones, and the parser the simulated pipeline reads uploads with.

Formats (cancergenomeinterpreter.org/formats): tab-separated text with a header line.

- mutations: genomic tabular ``chr pos ref alt`` (``-`` for an empty allele), or one ``protein`` column
  (HGVS protein change) or one ``gdna`` column (HGVS genomic change), or a VCF; optional ``sample``; other
  columns are kept and copied into the output.
- cnas: ``gene`` and ``cna`` (``AMP`` or ``DEL``); optional ``sample``.
- translocations: ``fus`` holding both partners as ``GENE1__GENE2``; optional ``sample``.

What the real service does with a file it cannot read is not documented [I]; here the job goes to
``Error`` with a log line naming the problem, so a client must read the logs rather than expect a 400.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

#: The input parts of a submission, in the order the pipeline reads them.
KINDS = ("mutations", "cnas", "translocations")

#: Sample name the pipeline gives rows without a ``sample`` column (seen as ``CGI-Sample ID`` "input01").
DEFAULT_SAMPLE = "input01"

#: Cancer type acronyms the simulator knows (a subset of CGI's list; ``cancer_types=`` replaces it).
# fmt: off
CANCER_TYPES = frozenset((
    "ALL", "AML", "BLCA", "BRCA", "CANCER", "CLL", "CM", "CML", "COREAD", "DLBCL", "GB", "GBM",
    "HC", "HEMATO", "HNSC", "L", "LGG", "LUAD", "LUSC", "LY", "MM", "NB", "NS", "NSCLC", "OV",
    "PAAD", "PRAD", "R", "RCCC", "S", "SCLC", "SOLID", "ST", "STAD", "THCA", "UCEC",
))
# fmt: on

#: Both genome builds the service takes (``reference`` form field).
REFERENCES = ("hg19", "hg38")

_ALLELE = re.compile(r"^(?:[ACGTNacgtn]+|-)$")
_FUSION = re.compile(r"^[A-Za-z0-9.\-]+__[A-Za-z0-9.\-]+$")
_SNIFF = 8192

#: A few hotspots so some results carry a gene, a protein change and a biomarker (hg19, hg38 positions).
DEFAULT_MUTATIONS: tuple[tuple[str, int, str, str], ...] = (
    ("chr7", 140453136, "A", "T"),  # BRAF V600E (hg19)
    ("chr12", 25398284, "C", "T"),  # KRAS G12D (hg19)
    ("chr17", 7578406, "C", "T"),  # TP53 R175H (hg19)
    ("chr1", 114716123, "C", "T"),  # NRAS G13D (hg38)
    ("chr9", 5073770, "G", "T"),  # JAK2 V617F (hg38)
)


class InputError(ValueError):
    """An input file the pipeline cannot read; the message becomes the job's error log line."""


@dataclass(frozen=True)
class Alteration:
    """One data row of an input file.

    :param kind: ``"mutations"``, ``"cnas"`` or ``"translocations"``.
    :param sample: the ``sample`` column, else :data:`DEFAULT_SAMPLE`.
    :param values: the row by (lower-cased) header name, every column kept.
    """

    kind: str
    sample: str
    values: dict[str, str]


@dataclass
class ParsedInput:
    """An input file as the pipeline read it.

    :param kind: which part it came in.
    :param header: the column names as written.
    :param rows: the data rows.
    :param text: the file as text (copied into the results as ``input01.tsv`` for mutations).
    :param layout: ``"genomic"``, ``"protein"``, ``"gdna"`` or ``"vcf"`` for mutations; else the kind.
    """

    kind: str
    header: list[str]
    rows: list[Alteration] = field(default_factory=list)
    text: str = ""
    layout: str = ""


# -- writing ---------------------------------------------------------------------------------------


def _write_table(path: str | Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["\t".join(header), *("\t".join(str(v) for v in row) for row in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_mutations(
    path: str | Path,
    rows: Sequence[Sequence[object]] | None = None,
    *,
    sample: str | None = None,
) -> Path:
    """Write a mutations file in CGI's genomic tabular format (``chr pos ref alt [sample]``).

    :param path: the file to write (parents are created).
    :param rows: ``(chr, pos, ref, alt)`` or ``(chr, pos, ref, alt, sample)`` tuples; default: five
        well-known hotspots (:data:`DEFAULT_MUTATIONS`).
    :param sample: add a ``sample`` column with this value for rows that do not give one.
    :returns: ``path``.
    """
    chosen: list[Sequence[object]] = list(rows if rows is not None else DEFAULT_MUTATIONS)
    with_sample = sample is not None or any(len(r) > 4 for r in chosen)
    header = ["chr", "pos", "ref", "alt", *(["sample"] if with_sample else [])]
    table = [(*r[:4], r[4] if len(r) > 4 else sample) if with_sample else tuple(r[:4]) for r in chosen]
    return _write_table(path, header, table)


def write_cnas(
    path: str | Path, rows: Sequence[tuple[str, str]] = (("ERBB2", "AMP"), ("CDKN2A", "DEL"))
) -> Path:
    """Write a copy number file (``gene cna``; ``cna`` is ``AMP`` or ``DEL``).

    :param path: the file to write.
    :param rows: ``(gene, cna)`` pairs.
    :returns: ``path``.
    """
    return _write_table(path, ["gene", "cna"], rows)


def write_translocations(path: str | Path, fusions: Sequence[str] = ("BCR__ABL1",)) -> Path:
    """Write a translocations file (one ``fus`` column, ``GENE1__GENE2``).

    :param path: the file to write.
    :param fusions: the fusions, both partners joined by two underscores.
    :returns: ``path``.
    """
    return _write_table(path, ["fus"], [(f,) for f in fusions])


# -- reading ---------------------------------------------------------------------------------------


def _text_of(path: Path, label: str) -> str:
    data = path.read_bytes()
    if not data.strip():
        raise InputError(f"The {label} file is empty")
    head = data[:_SNIFF]
    # Gzip too: the service's clients unpack inputs before uploading [I], so a packed file is refused.
    if head[:2] == b"\x1f\x8b" or b"\x00" in head:
        raise InputError(f"The {label} file is not a text file (compressed or binary)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"The {label} file is not UTF-8 text") from None


def _lines(text: str) -> list[tuple[int, list[str]]]:
    """Non-blank lines as (number, tab-separated fields); ``#`` comment lines are skipped."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip() and not line.startswith("#"):
            out.append((number, [f.strip() for f in line.split("\t")]))
    return out


def _table(
    kind: str,
    path: Path,
    text: str,
    needed: Sequence[Sequence[str]],
    check: Callable[[int, dict[str, str]], None] | None = None,
) -> ParsedInput:
    """Read a tab-separated table whose header holds one of the ``needed`` column sets.

    :param check: called with (line number, row) for rows of the first column set, to refuse bad values.
    """
    lines = _lines(text)
    if not lines:
        raise InputError(f"The {kind} file has no header line")
    _, header = lines[0]
    names = [h.lower() for h in header]
    wanted = next((cols for cols in needed if set(cols) <= set(names)), None)
    if wanted is None:
        options = " or ".join(", ".join(cols) for cols in needed)
        raise InputError(
            f"Unrecognised {kind} format in {path.name}: the header must name the columns {options}"
        )
    parsed = ParsedInput(kind, header, text=text, layout=kind)
    for number, fields in lines[1:]:
        if len(fields) < len(names):
            fields = fields + [""] * (len(names) - len(fields))
        values = dict(zip(names, fields, strict=False))
        missing = [c for c in wanted if not values[c]]
        if missing:
            raise InputError(f"{path.name} line {number}: no value for {', '.join(missing)}")
        if check is not None and wanted == needed[0]:
            check(number, values)
        parsed.rows.append(Alteration(kind, values.get("sample") or DEFAULT_SAMPLE, values))
    if not parsed.rows:
        raise InputError(f"The {kind} file {path.name} has a header but no rows")
    return parsed


def _vcf(path: Path, text: str) -> ParsedInput:
    rows = []
    for number, fields in _lines(text):
        if len(fields) < 5:
            raise InputError(f"{path.name} line {number}: a VCF record needs CHROM POS ID REF ALT")
        chrom, pos, _, ref, alt = fields[:5]
        rows.append((number, {"chr": chrom, "pos": pos, "ref": ref, "alt": alt.split(",")[0]}))
    if not rows:
        raise InputError(f"The VCF file {path.name} has no records")
    parsed = ParsedInput("mutations", ["chr", "pos", "ref", "alt"], text=text, layout="vcf")
    for number, values in rows:
        _check_genomic(path, number, values)
        parsed.rows.append(Alteration("mutations", DEFAULT_SAMPLE, values))  # one sample per VCF
    return parsed


def _check_genomic(path: Path, number: int, values: dict[str, str]) -> None:
    if not values["pos"].isdigit():
        raise InputError(f"{path.name} line {number}: position {values['pos']!r} is not a number")
    for column in ("ref", "alt"):
        if not _ALLELE.match(values[column]):
            raise InputError(f"{path.name} line {number}: {column} allele {values[column]!r} is not valid")


def parse_input(kind: str, path: Path) -> ParsedInput:
    """Read an uploaded input file as the pipeline does.

    :param kind: the form part it came in (one of :data:`KINDS`).
    :param path: the saved upload.
    :raises InputError: the file cannot be read; the message is the pipeline's error line.
    """
    text = _text_of(path, kind)
    if kind == "mutations":
        if text.startswith("##fileformat=VCF"):
            return _vcf(path, text)
        needed = (("chr", "pos", "ref", "alt"), ("protein",), ("gdna",))
        parsed = _table(kind, path, text, needed, lambda n, v: _check_genomic(path, n, v))
        names = {h.lower() for h in parsed.header}
        parsed.layout = "genomic" if set(needed[0]) <= names else "protein" if "protein" in names else "gdna"
        return parsed
    if kind == "cnas":
        parsed = _table(kind, path, text, (("gene", "cna"),))
        for row in parsed.rows:
            if row.values["cna"].upper() not in ("AMP", "DEL"):
                raise InputError(f"{path.name}: cna {row.values['cna']!r} is neither AMP nor DEL")
        return parsed
    if kind == "translocations":
        parsed = _table(kind, path, text, (("fus",),))
        for row in parsed.rows:
            if not _FUSION.match(row.values["fus"]):
                raise InputError(f"{path.name}: fusion {row.values['fus']!r} is not GENE1__GENE2")
        return parsed
    raise ValueError(f"unknown input kind {kind!r}")
