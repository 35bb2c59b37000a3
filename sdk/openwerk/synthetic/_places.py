"""Where synthetic people live and work: gemeenten, postcodes and streets.

Gemeenten and their arbeidsmarktregio come from the spec's code lists (one source for codes).
What the code lists do not hold is invented here, only to look plausible: a rough population
per larger gemeente (so big cities are drawn more often), a PC4 range per gemeente (from the
real range for the cities listed, otherwise a block inside the province's usual range, fixed
per gemeente) and common Dutch street names. No real address is reproduced on purpose.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from openwerk_spec.codelists import load_code_list

__all__ = ["STREETS", "Place", "places_for"]

# gemeente code -> (inhabitants in thousands, rounded; first PC4; last PC4)
_KNOWN: dict[str, tuple[int, int, int]] = {
    "GM0363": (930, 1011, 1109),  # Amsterdam
    "GM0599": (670, 3011, 3089),  # Rotterdam
    "GM0518": (560, 2491, 2599),  # 's-Gravenhage
    "GM0344": (375, 3511, 3585),  # Utrecht
    "GM0772": (240, 5611, 5658),  # Eindhoven
    "GM0014": (240, 9711, 9747),  # Groningen
    "GM0855": (225, 5011, 5049),  # Tilburg
    "GM0034": (225, 1311, 1363),  # Almere
    "GM0758": (185, 4811, 4841),  # Breda
    "GM0268": (182, 6511, 6546),  # Nijmegen
    "GM0200": (167, 7311, 7339),  # Apeldoorn
    "GM0202": (166, 6811, 6846),  # Arnhem
    "GM0392": (165, 2011, 2037),  # Haarlem
    "GM0153": (162, 7511, 7548),  # Enschede
    "GM0307": (160, 3811, 3829),  # Amersfoort
    "GM0479": (160, 1501, 1509),  # Zaanstad
    "GM0796": (160, 5211, 5249),  # 's-Hertogenbosch
    "GM0394": (160, 2131, 2152),  # Haarlemmermeer
    "GM0193": (133, 8011, 8043),  # Zwolle
    "GM0546": (128, 2311, 2334),  # Leiden
    "GM0637": (127, 2711, 2729),  # Zoetermeer
    "GM0080": (126, 8911, 8939),  # Leeuwarden
    "GM0935": (122, 6211, 6229),  # Maastricht
    "GM0228": (122, 6711, 6721),  # Ede
    "GM0505": (121, 3311, 3329),  # Dordrecht
    "GM1783": (113, 2671, 2695),  # Westland
    "GM0361": (111, 1811, 1827),  # Alkmaar
    "GM0114": (108, 7811, 7833),  # Emmen
    "GM0503": (105, 2611, 2629),  # Delft
    "GM0983": (103, 5911, 5928),  # Venlo
    "GM0150": (103, 7411, 7429),  # Deventer
    "GM0794": (94, 5701, 5709),  # Helmond
    # Midden-Utrecht and Amersfoort, the regions of the conformance fixtures and the demo
    "GM0356": (65, 3430, 3439),  # Nieuwegein
    "GM0355": (66, 3701, 3709),  # Zeist
    "GM1904": (66, 3601, 3612),  # Stichtse Vecht
    "GM0632": (53, 3441, 3449),  # Woerden
    "GM0321": (51, 3991, 3995),  # Houten
    "GM1581": (50, 3941, 3958),  # Utrechtse Heuvelrug
    "GM0310": (44, 3721, 3739),  # De Bilt
    "GM0353": (35, 3401, 3404),  # IJsselstein
    "GM0352": (24, 3961, 3962),  # Wijk bij Duurstede
    "GM0312": (15, 3981, 3985),  # Bunnik
    "GM0331": (15, 3411, 3413),  # Lopik
    "GM0335": (14, 3417, 3417),  # Montfoort
    "GM0589": (10, 3421, 3421),  # Oudewater
    "GM0342": (47, 3761, 3769),  # Soest
    "GM0267": (45, 3861, 3864),  # Nijkerk
    "GM0327": (30, 3831, 3835),  # Leusden
    "GM0308": (25, 3741, 3744),  # Baarn
    "GM0313": (22, 3751, 3752),  # Bunschoten
    "GM0351": (14, 3931, 3931),  # Woudenberg
}

# province code -> the PC4 range most of its postcodes fall in (a rough, plausible block)
_PROVINCE_PC4: dict[str, tuple[int, int]] = {
    "PV20": (9700, 9999),  # Groningen
    "PV21": (8400, 9299),  # Fryslân
    "PV22": (7800, 7999),  # Drenthe
    "PV23": (7400, 7699),  # Overijssel
    "PV24": (8200, 8259),  # Flevoland
    "PV25": (6600, 7399),  # Gelderland
    "PV26": (3400, 3999),  # Utrecht
    "PV27": (1400, 2099),  # Noord-Holland
    "PV28": (2200, 3399),  # Zuid-Holland
    "PV29": (4300, 4599),  # Zeeland
    "PV30": (4600, 5799),  # Noord-Brabant
    "PV31": (5800, 6499),  # Limburg
}
_DEFAULT_POPULATION = 30

# fmt: off
STREETS: tuple[str, ...] = (
    "Kerkstraat", "Dorpsstraat", "Molenweg", "Stationsweg", "Schoolstraat", "Julianastraat",
    "Wilhelminastraat", "Beatrixlaan", "Oranjestraat", "Nieuwstraat", "Prins Bernhardlaan",
    "Kastanjelaan", "Eikenlaan", "Lindelaan", "Berkenlaan", "Beukenlaan", "Merelstraat",
    "Vinkenstraat", "Spoorstraat", "Havenstraat", "Parallelweg", "Industrieweg", "Marktplein",
    "Emmastraat", "Irenestraat", "Margrietstraat", "Sportlaan", "Tuinstraat", "Kanaalweg",
    "Dijkstraat", "Veldweg", "Rozenstraat", "Tulpstraat", "Goudsbloemlaan", "Zonnebloemstraat",
    "Meidoornlaan", "Esdoornstraat", "Populierenlaan", "Wilgenweg", "Vlierstraat",
    "Koningin Julianaweg", "Van Goghstraat", "Rembrandtlaan", "Vermeerstraat", "Frans Halsstraat",
    "Mozartlaan", "Händelstraat", "Vondellaan", "Bilderdijkstraat", "Multatulistraat",
    "Thorbeckestraat", "Kennedylaan", "Churchilllaan", "Leeuweriklaan", "Kievitstraat",
    "Zwaluwstraat", "Spechtlaan", "Reigerstraat", "Ooievaarlaan", "Noordsingel", "Zuidsingel",
    "Oostwal", "Westwal", "Bosweg", "Heideweg", "Akkerstraat", "Weidelaan", "Polderweg",
    "Sluisstraat", "Brugstraat", "Torenstraat", "Slotlaan", "Hofstraat", "Pastoor van Arslaan",
    "Burgemeester Visserlaan", "Dokter Schaepmanstraat", "Generaal Foulkesweg", "Amstelstraat",
    "Rijnstraat", "Maasstraat", "Waalstraat", "IJsselstraat", "Vechtstraat", "Lekstraat",
)
# fmt: on


@dataclass(frozen=True, slots=True)
class Place:
    """A gemeente with what the generator needs to place people and work in it."""

    code: str
    name: str
    region: str
    population: int
    pc4_low: int
    pc4_high: int


def _pc4_range(code: str, province: str) -> tuple[int, int]:
    known = _KNOWN.get(code)
    if known is not None:
        return known[1], known[2]
    low, high = _PROVINCE_PC4[province]
    # A fixed block of up to 10 PC4s per gemeente inside its province's range.
    offset = int.from_bytes(hashlib.sha256(code.encode()).digest()[:4], "big")
    start = low + offset % max(1, high - low - 9)
    return start, min(high, start + 9)


def places_for(gemeenten: Sequence[str] | None, arbeidsmarktregio: str | None) -> list[Place]:
    """The places a node draws from: the given gemeenten, else its region's, else all.

    Raises ``ValueError`` for an unknown gemeente or region, or a gemeente outside the region.
    """
    code_list = load_code_list("gemeenten")
    if arbeidsmarktregio is not None and arbeidsmarktregio not in load_code_list(
        "arbeidsmarktregios"
    ):
        raise ValueError(f"{arbeidsmarktregio!r} is not an arbeidsmarktregio code")
    if gemeenten is not None:
        if not gemeenten:
            raise ValueError("gemeenten must not be empty (pass None for the whole region)")
        unknown = [code for code in gemeenten if code not in code_list]
        if unknown:
            raise ValueError(f"not gemeente codes: {unknown}")
        items = [code_list.item(code) for code in dict.fromkeys(gemeenten)]
        if arbeidsmarktregio is not None:
            outside = [i.code for i in items if i.extra["arbeidsmarktregio"] != arbeidsmarktregio]
            if outside:
                raise ValueError(f"gemeenten {outside} are not in {arbeidsmarktregio}")
    elif arbeidsmarktregio is not None:
        items = [i for i in code_list.items if i.extra["arbeidsmarktregio"] == arbeidsmarktregio]
    else:
        items = list(code_list.items)
    places = []
    for item in items:
        low, high = _pc4_range(item.code, str(item.extra["province"]))
        places.append(
            Place(
                code=item.code,
                name=item.label["nl"],
                region=str(item.extra["arbeidsmarktregio"]),
                population=_KNOWN.get(item.code, (_DEFAULT_POPULATION, 0, 0))[0],
                pc4_low=low,
                pc4_high=high,
            )
        )
    return places
