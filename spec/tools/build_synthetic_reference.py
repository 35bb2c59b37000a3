"""Build the compact ESCO reference the synthetic data generator ships with.

``openwerk.synthetic`` must run from an installed wheel without ``../shared/data``, so the
few ESCO facts it draws from (entry-level occupations per theme, a bounded set of each
occupation's essential and optional skills, the transversal skills) are distilled here into
``sdk/openwerk/synthetic/reference.json``. Gemeenten are not in this file: the generator
reads them from the spec's code lists, the one source for codes.

Which skills are kept: per occupation at most 12 essential and 8 optional ones, preferring
skills that many entry-level occupations share (then the label, for a stable order). Shared
skills are what make candidates and vacancies from neighbouring occupations overlap, which
is what a matching demo needs. A skill keeps its ESCO URI where the source has one; score-v1
matches by URI when a requirement has one, so the generator must use the same form on both
sides, and it does because both sides come from this file.

Usage::

    python spec/tools/build_synthetic_reference.py [DATA_DIR] [--check]

``DATA_DIR`` defaults to ``../shared/data``. ``--check`` writes nothing and exits 1 when the
committed file differs from what the data gives.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"
OUTPUT = REPO_ROOT / "sdk" / "openwerk" / "synthetic" / "reference.json"

MAX_ESSENTIAL = 12
MAX_OPTIONAL = 8
FORMAT_VERSION = 1

ESCO_ATTRIBUTION = "This service uses the ESCO classification of the European Commission."
ESCO_LICENCE = (
    "European Commission reuse policy (Decision 2011/833/EU; CC BY 4.0). ISCO-08 is © ILO."
)
SOURCE = (
    "ESCO v1.2.0 (classification release of May 2024) as distilled in the Open Werk shared "
    "reference data (../shared/data/esco, see SOURCES.md there): occupations_entry_level.csv "
    "(entry-level subset and themes are an Open Werk selection by ISCO-08 unit group), "
    "occupation_skill_relations_entry_level.csv (skills by English preferred label; URIs only "
    "where the label matched an ESCO collection file) and skills_transversal.csv. Per occupation "
    f"at most {MAX_ESSENTIAL} essential and {MAX_OPTIONAL} optional skills were kept, preferring "
    "skills shared by many entry-level occupations."
)

# Transversal skills that answer the employer intake's fourth question ("required employee
# skills: punctuality, cooperation"). Task offers draw their workSkills from these.
WORK_SKILL_LABELS = (
    "meet commitments",
    "work in teams",
    "manage time",
    "accept criticism and guidance",
    "apply hygiene standards",
    "attend to detail",
    "work independently",
    "show commitment",
    "demonstrate trustworthiness",
    "adjust to physical demands",
    "move objects",
    "cope with stress",
    "demonstrate willingness to learn",
    "work efficiently",
    "maintain concentration for long periods",
    "report facts",
    "show initiative",
    "respect the diversity of cultural values and norms",
)


# The occupations people in the target groups most often start in, by ESCO code. The
# generator draws these far more often than rare specialisations ("beer sommelier"), so a
# synthetic pool looks like a caseload and not like a random walk through ESCO.
COMMON_OCCUPATIONS = frozenset(
    {
        # cleaning
        "9111.1", "9112.2", "9112.4", "9112.6", "9122.1", "9123.1", "8157.1", "9121.1", "5153.1",
        # logistics and warehouse
        "9333.8", "9333.8.1", "9334.1", "9321.2", "8344.1", "4412.1", "4412.2", "8322.2",
        "9333.3", "8183.7", "9333.4",
        # production
        "9329.1", "8160.34", "8219.9", "8219.2", "8219.4", "8219.8", "8212.2.2", "8160.2",
        "8219.11",
        # horticulture and green
        "9214.1", "9214.2", "6113.1", "6113.5", "9211.1", "9613.1", "9612.1", "9612.2", "9611.1",
        # hospitality
        "9412.1", "9412.2", "9411.2", "5246.1", "5131.2", "5132.1.1", "5120.1",
        # retail
        "5223.6", "5223.4", "5230.1", "5223.7.30", "5223.7.4", "5223.7.18",
        # care support
        "5321.1", "5322.1", "5311.1.3", "5164.1", "5329.1", "5152.2", "5164.3",
        # construction helpers
        "9313.1", "9312.1.3", "7131.1", "9312.1",
        # administration
        "4110.1", "4132.1", "4415.1", "4226.1", "5244.1",
        # security
        "5414.1", "5414.1.5",
        # other elementary
        "9622.1", "9629.7", "9629.5", "9629.4", "9629.2",
    }
)  # fmt: skip


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def build(data_dir: Path) -> dict[str, Any]:
    """The reference document for ``data_dir`` (pure: reads, never writes)."""
    esco = data_dir / "esco"
    occupations = _read_csv(esco / "occupations_entry_level.csv")
    relations = _read_csv(esco / "occupation_skill_relations_entry_level.csv")
    transversal = _read_csv(esco / "skills_transversal.csv")

    # How many entry-level occupations use a skill (either relation type): the preference.
    usage: Counter[str] = Counter()
    uri_of: dict[str, str] = {}
    by_occupation: dict[str, dict[str, list[str]]] = {}
    for row in relations:
        label = row["skill_label_en"]
        usage[label] += 1
        if row["skill_uri"]:
            uri_of[label] = row["skill_uri"]
        kinds = by_occupation.setdefault(row["occupation_uri"], {"essential": [], "optional": []})
        kinds[row["relation_type"]].append(label)
    for row in transversal:
        uri_of.setdefault(row["label_en"], row["skill_uri"])

    def ranked(labels: list[str]) -> list[str]:
        return sorted(set(labels), key=lambda label: (-usage[label], label.casefold(), label))

    unknown = COMMON_OCCUPATIONS - {occ["esco_code"] for occ in occupations}
    if unknown:
        raise ValueError(f"COMMON_OCCUPATIONS not in the entry-level subset: {sorted(unknown)}")

    chosen: dict[str, tuple[list[str], list[str]]] = {}
    for occ in occupations:
        kinds = by_occupation.get(occ["occupation_uri"], {"essential": [], "optional": []})
        essential = ranked(kinds["essential"])[:MAX_ESSENTIAL]
        optional = [s for s in ranked(kinds["optional"]) if s not in essential][:MAX_OPTIONAL]
        chosen[occ["occupation_uri"]] = (essential, optional)

    transversal_labels = sorted({row["label_en"] for row in transversal}, key=str.casefold)
    skill_labels = sorted(
        {s for pair in chosen.values() for part in pair for s in part} | set(transversal_labels),
        key=lambda label: (label.casefold(), label),
    )
    index = {label: i for i, label in enumerate(skill_labels)}
    missing = [label for label in WORK_SKILL_LABELS if label not in index]
    if missing:
        raise ValueError(f"work skills not in the transversal collection: {missing}")

    themes: dict[str, list[int]] = {}
    occupation_rows: list[list[Any]] = []
    for i, occ in enumerate(occupations):
        essential, optional = chosen[occ["occupation_uri"]]
        themes.setdefault(occ["theme"], []).append(i)
        occupation_rows.append(
            [
                occ["occupation_uri"],
                occ["isco08_unit_group"],
                occ["esco_code"],
                occ["label_nl"],
                occ["label_en"],
                occ["theme"],
                occ["esco_code"] in COMMON_OCCUPATIONS,
                [index[s] for s in essential],
                [index[s] for s in optional],
            ]
        )

    return {
        "formatVersion": FORMAT_VERSION,
        "escoVersion": "1.2.0",
        "attribution": ESCO_ATTRIBUTION,
        "licence": ESCO_LICENCE,
        "source": SOURCE,
        "columns": {
            "skills": ["label", "uri"],
            "occupations": [
                "uri",
                "isco08",
                "escoCode",
                "labelNl",
                "labelEn",
                "theme",
                "common",
                "essentialSkills",
                "optionalSkills",
            ],
        },
        "skills": [[label, uri_of.get(label, "")] for label in skill_labels],
        "occupations": occupation_rows,
        "themes": dict(sorted(themes.items())),
        "transversalSkills": [index[label] for label in transversal_labels],
        "workSkills": [index[label] for label in WORK_SKILL_LABELS],
    }


def render(document: dict[str, Any]) -> str:
    """Compact but diff-friendly: one skill or occupation per line."""
    lines = ["{"]
    keys = list(document)
    for n, key in enumerate(keys):
        value = document[key]
        comma = "," if n < len(keys) - 1 else ""
        if key in ("skills", "occupations"):
            rows = [json.dumps(row, ensure_ascii=False, separators=(",", ":")) for row in value]
            lines.append(f"  {json.dumps(key)}: [")
            lines.extend(f"    {row}," for row in rows[:-1])
            lines.append(f"    {rows[-1]}")
            lines.append(f"  ]{comma}")
        else:
            dumped = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            lines.append(f"  {json.dumps(key)}: {dumped}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    text = render(build(args.data_dir))
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT.relative_to(REPO_ROOT)} is out of date; re-run without --check")
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(REPO_ROOT)} ({len(text.encode()):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
