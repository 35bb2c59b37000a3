"""Regenerate the code lists that derive from the shared reference data.

Four lists in ``spec/v1/codelists/`` are copies of official data (CBS regions, ISCO-08 and
the ESCO entry-level occupations) kept in ``../shared/data`` with their provenance in
``SOURCES.md``. They are generated here rather than edited by hand so that a new CBS or ESCO
release is a re-run plus a reviewed diff, and so that a test can prove the committed files
still equal what the data gives. All other lists are hand-authored JSON; this script knows
only its own four names and refuses to overwrite a file that does not look derived.

Usage::

    python spec/tools/build_codelists.py [DATA_DIR] [--check]

``DATA_DIR`` defaults to ``../shared/data`` next to the repository root. ``--check`` writes
nothing and exits 1 when a committed list differs from what the data gives (for CI).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"
CODELIST_DIR = REPO_ROOT / "spec" / "v1" / "codelists"
VERSION = "1.0.0"

# Provenance is copied from SOURCES.md, not invented: the licence is the original
# publisher's, not that of the repositories that carried the copies.
CBS_SOURCE = (
    "CBS StatLine table 86247NED 'Gebieden in Nederland 2026' (gemeente to arbeidsmarktregio, "
    "by name; copy in cedanl/onderwijsdata-chat data/arbeidsmarktregio_gemeente.json, commit "
    "bff1d3e0fe97bb5b7ca03e1fa4a5beec79c51e6d); CBS/PDOK gebiedsindelingen 2025, layers "
    "arbeidsmarktregio_gegeneraliseerd and provincie (AM and PV codes and names; copy in "
    "cartomap/nl, commit 01e3b4cea860e7bb5dc3bddbfff72d3e4f4709e6); CBS Wijk- en Buurtkaart 2025 "
    "(gemeente names) and gemeente-to-province membership (copy in entranos/regioviewer, commit "
    "b05b4324ff1032f57e3b15fe2bff37b366b8227e; only the CBS facts were used). Province name "
    "'Friesland' replaced by the official CBS name 'Fryslân'."
)
CBS_LICENCE = "CC BY 4.0 (CBS open data; CBS/PDOK)"
ESCO_ATTRIBUTION = "This service uses the ESCO classification of the European Commission."
ESCO_LICENCE = (
    "European Commission reuse policy (Decision 2011/833/EU; CC BY 4.0). ISCO-08 is © ILO."
)
ISCO_SOURCE = (
    "ISCO-08 (International Labour Organization) as published inside ESCO v1.2.0: "
    "ISCOGroups_en.csv (copy in victoriano/future-of-work-data, commit "
    "e6aa2f1f73448dcde7927d77ce260a693a543bf8) and ISCOGroups_nl.csv (copy in "
    "threehook/esco-search, commit dbf363d553db6f984bd49200ae38a325989d9101); the Dutch titles "
    "are ESCO's translations. level = code length, parent = code minus its last digit."
)
ESCO_OCCUPATIONS_SOURCE = (
    "ESCO v1.2.0 occupations (classification release of May 2024): occupations_en.csv (copy in "
    "victoriano/future-of-work-data, commit e6aa2f1f73448dcde7927d77ce260a693a543bf8) and "
    "occupations_nl.csv (copy in threehook/esco-search, commit "
    "dbf363d553db6f984bd49200ae38a325989d9101). The entry-level subset and its themes are an "
    "Open Werk selection by ISCO-08 unit group, not an ESCO concept."
)

Document = dict[str, Any]


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [{k: v.strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def _same(label: str) -> dict[str, str]:
    # Official names (gemeenten, regions) have no translation: both languages carry it.
    return {"nl": label, "en": label}


def build_gemeenten(data_dir: Path) -> Document:
    rows = sorted(_read_csv(data_dir / "gemeenten.csv"), key=lambda r: r["gemeente_code"])
    return {
        "name": "gemeenten",
        "version": VERSION,
        "title": {"nl": "Gemeenten", "en": "Municipalities (gemeenten)"},
        "description": {
            "nl": "Alle Nederlandse gemeenten met CBS-gemeentecode (GMxxxx), de "
            "arbeidsmarktregio (AMxx) en de provincie (PVxx) waartoe ze behoren.",
            "en": "Every Dutch municipality with its CBS code (GMxxxx), the labour-market "
            "region (AMxx) and the province (PVxx) it belongs to. Names are official and "
            "not translated.",
        },
        "source": CBS_SOURCE,
        "licence": CBS_LICENCE,
        "items": [
            {
                "code": r["gemeente_code"],
                "label": _same(r["gemeente_name"]),
                "arbeidsmarktregio": r["arbeidsmarktregio_code"],
                "province": r["province_code"],
            }
            for r in rows
        ],
    }


def build_arbeidsmarktregios(data_dir: Path) -> Document:
    rows = sorted(
        _read_csv(data_dir / "arbeidsmarktregios.csv"), key=lambda r: r["arbeidsmarktregio_code"]
    )
    return {
        "name": "arbeidsmarktregios",
        "version": VERSION,
        "title": {"nl": "Arbeidsmarktregio's", "en": "Labour-market regions (arbeidsmarktregio's)"},
        "description": {
            "nl": "De 35 arbeidsmarktregio's met CBS-code (AMxx). De codes lopen niet door: "
            "AM04, AM16 en AM31 bestaan niet.",
            "en": "The 35 labour-market regions with their CBS code (AMxx). The codes are not "
            "consecutive (AM04, AM16 and AM31 do not exist); that is how CBS numbers them. "
            "Names are official and not translated.",
        },
        "source": CBS_SOURCE,
        "licence": CBS_LICENCE,
        "items": [
            {
                "code": r["arbeidsmarktregio_code"],
                "label": _same(r["arbeidsmarktregio_name"]),
                "gemeenteCount": int(r["gemeente_count"]),
            }
            for r in rows
        ],
    }


def build_isco08(data_dir: Path) -> Document:
    items: list[dict[str, Any]] = []
    for r in sorted(_read_csv(data_dir / "isco08.csv"), key=lambda r: r["isco_code"]):
        item: dict[str, Any] = {
            "code": r["isco_code"],
            "label": {"nl": r["title_nl"], "en": r["title_en"]},
            "level": int(r["level"]),
        }
        if r["parent_code"]:
            item["parent"] = r["parent_code"]
        item["escoUri"] = r["esco_uri"]
        items.append(item)
    return {
        "name": "isco08",
        "version": VERSION,
        "title": {"nl": "ISCO-08 beroepsgroepen", "en": "ISCO-08 occupation groups"},
        "description": {
            "nl": "Alle 619 groepen van ISCO-08: 10 hoofdgroepen, 43 subhoofdgroepen, 130 "
            "subgroepen en 436 beroepsgroepen (level 1 tot 4). Een OccupationRef noemt altijd "
            "een beroepsgroep van 4 cijfers.",
            "en": "All 619 ISCO-08 groups: 10 major, 43 sub-major, 130 minor and 436 unit "
            "groups (level 1 to 4). An OccupationRef always names a 4-digit unit group.",
        },
        "source": ISCO_SOURCE,
        "licence": ESCO_LICENCE,
        "attribution": ESCO_ATTRIBUTION,
        "items": items,
    }


def build_esco_occupations(data_dir: Path) -> Document:
    rows = _read_csv(data_dir / "esco" / "occupations_entry_level.csv")
    return {
        "name": "esco-occupations",
        "version": VERSION,
        "title": {
            "nl": "ESCO-beroepen op instapniveau",
            "en": "Entry-level ESCO occupations",
        },
        "description": {
            "nl": "339 ESCO-beroepen (v1.2.0) in beroepsgroepen waar mensen met een afstand "
            "tot de arbeidsmarkt vaak instromen, gegroepeerd per thema. De code is de "
            "ESCO-URI. Andere ESCO-beroepen blijven geldig in een OccupationRef.",
            "en": "339 ESCO occupations (v1.2.0) in the unit groups where people at a distance "
            "from the labour market usually start, grouped by theme. The code is the ESCO "
            "URI. Other ESCO occupations remain valid in an OccupationRef.",
        },
        "source": ESCO_OCCUPATIONS_SOURCE,
        "licence": ESCO_LICENCE,
        "attribution": ESCO_ATTRIBUTION,
        "items": [
            {
                "code": r["occupation_uri"],
                "label": {"nl": r["label_nl"], "en": r["label_en"]},
                "escoCode": r["esco_code"],
                "isco08": r["isco08_unit_group"],
                "theme": r["theme"],
            }
            for r in rows
        ],
    }


BUILDERS: dict[str, Callable[[Path], Document]] = {
    "arbeidsmarktregios": build_arbeidsmarktregios,
    "esco-occupations": build_esco_occupations,
    "gemeenten": build_gemeenten,
    "isco08": build_isco08,
}
DERIVED_NAMES: tuple[str, ...] = tuple(sorted(BUILDERS))


def build_all(data_dir: Path) -> dict[str, Document]:
    """Every derived list, keyed by name, exactly as it should be committed."""
    return {name: builder(data_dir) for name, builder in BUILDERS.items()}


def render(document: Document) -> str:
    """The canonical file text; all code list files use it so diffs stay small."""
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _is_derived_file(path: Path) -> bool:
    document = json.loads(path.read_text(encoding="utf-8"))
    return isinstance(document, dict) and "source" in document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--output", type=Path, default=CODELIST_DIR)
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on drift")
    args = parser.parse_args(argv)
    data_dir: Path = args.data_dir
    output: Path = args.output
    if not (data_dir / "gemeenten.csv").is_file():
        parser.error(f"{data_dir} does not hold the shared reference data (gemeenten.csv)")

    built = build_all(data_dir)
    if args.check:
        drift = [
            name
            for name, document in built.items()
            if not (output / f"{name}.json").is_file()
            or (output / f"{name}.json").read_text(encoding="utf-8") != render(document)
        ]
        if drift:
            print("out of date: " + ", ".join(drift), file=sys.stderr)
            return 1
        return 0
    # Check every target before writing any, so a refusal leaves the directory untouched.
    for name in built:
        target = output / f"{name}.json"
        if target.is_file() and not _is_derived_file(target):
            parser.error(f"{target} has no 'source'; it looks hand-authored, refusing to overwrite")
    for name, document in built.items():
        target = output / f"{name}.json"
        target.write_text(render(document), encoding="utf-8")
        print(f"wrote {target} ({len(document['items'])} items)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
