"""What synthetic work looks like per theme: employers, sectors, tasks, pay and workplace.

Texts are Dutch, as a Dutch publisher writes them. Employer names are invented from common
patterns (a family name or a made-up word with a trade noun); KvK numbers are random 8-digit
numbers, so any resemblance to a real company is chance. SBI codes are real SBI 2008 codes
for the sector (four digits, no dots).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["SUPERVISION", "THEME_WORK", "ThemeWork"]


@dataclass(frozen=True, slots=True)
class ThemeWork:
    """Per theme: trade nouns for employer names, SBI codes, pay basis, tasks, workplace."""

    trades: tuple[str, ...]
    sbi: tuple[str, ...]
    pay_basis: str
    tasks: tuple[tuple[str, str], ...]
    features: tuple[str, ...]
    area: str


# fmt: off
THEME_WORK: Mapping[str, ThemeWork] = {
    "cleaning": ThemeWork(
        ("Schoonmaakdiensten", "Schoonmaak", "Facilitaire Diensten", "Glazenwassers"),
        ("8121", "8122"), "cao Schoonmaak- en glazenwassersbedrijf",
        (("Kantines en pantry's schoonhouden", "Dagelijks afnemen, stofzuigen en afval legen."),
         ("Sanitair reinigen", "Toiletten en wasruimtes volgens een vaste route."),
         ("Afval scheiden en afvoeren", "Papier, plastic en restafval naar de containers."),
         ("Vloeren dweilen", "Met de schrobzuigmachine of de mop, na instructie."),
         ("Schoonmaakkar bijvullen", "Middelen en doeken klaarzetten voor de volgende ploeg.")),
        ("fixed-workplace", "public-transport-nearby", "lift"), "schoonmaak",
    ),
    "logistics_warehouse": ThemeWork(
        ("Logistiek", "Distributie", "Fulfilment", "Transport"),
        ("5210", "4941", "5229", "5320"), "cao Beroepsgoederenvervoer over de weg",
        (("Orderpicken", "Producten verzamelen met een handscanner."),
         ("Retouren sorteren", "Teruggestuurde artikelen controleren en terugzetten."),
         ("Dozen vouwen en inpakken", "Bestellingen verzendklaar maken."),
         ("Pallets wikkelen", "Pallets stabiel maken voor transport."),
         ("Labels plakken", "Verzendlabels printen en plakken.")),
        ("shift-work", "parking", "step-free-access"), "logistiek",
    ),
    "production": ThemeWork(
        ("Verpakkingen", "Metaalbewerking", "Voedingsmiddelen", "Bakkerij", "Assemblage"),
        ("1071", "1089", "2222", "2562", "2932"), "wettelijk minimumloon",
        (("Producten inpakken", "Aan de lijn producten in dozen of zakken doen."),
         ("Etiketten plakken", "Producten voorzien van het juiste etiket."),
         ("Kwaliteitscontrole op het oog", "Afwijkende producten eruit halen."),
         ("Onderdelen samenstellen", "Eenvoudige montage volgens werkinstructie met foto's."),
         ("Machine bijvullen", "Grondstof of verpakkingsmateriaal aanvullen.")),
        ("shift-work", "fixed-workplace", "adapted-toilet"), "productie",
    ),
    "horticulture_green": ThemeWork(
        ("Hoveniers", "Groenvoorziening", "Kwekerij", "Groenonderhoud"),
        ("8130", "0130"), "cao Hoveniers",
        (("Onkruid wieden", "Plantsoenen en perken bijhouden."),
         ("Bladblazen en vegen", "Paden en pleinen schoonhouden."),
         ("Zwerfafval prikken", "Vaste route door de wijk."),
         ("Planten oppotten", "Stekken en jonge planten in potten zetten."),
         ("Gras maaien", "Met de duwmaaier, na instructie.")),
        ("outdoor-work", "parking"), "groen",
    ),
    "hospitality": ThemeWork(
        ("Lunchroom", "Grand Café", "Catering", "Hotel"),
        ("5610", "5621", "5510", "5629"), "cao Horeca",
        (("Afwassen", "Vaatwasser vullen en leeghalen, pannen afwassen."),
         ("Broodjes smeren", "Broodjes en salades bereiden volgens vaste kaart."),
         ("Tafels dekken en afruimen", "Het restaurant klaarzetten voor gasten."),
         ("Groente snijden", "Mise-en-place voor de keuken."),
         ("Koffie en thee serveren", "Gasten bedienen aan de balie.")),
        ("public-transport-nearby", "shift-work"), "horeca",
    ),
    "retail": ThemeWork(
        ("Supermarkt", "Bouwmarkt", "Kringloopwinkel", "Tuincentrum"),
        ("4711", "4752", "4779", "4719"), "cao Supermarkten",
        (("Vakken vullen", "Producten uit de kratten in de schappen zetten."),
         ("Winkel opruimen", "Schappen spiegelen en gangpaden vrijhouden."),
         ("Statiegeld innemen", "Flessen en kratten sorteren."),
         ("Prijzen controleren", "Prijskaartjes vergelijken met de kassa."),
         ("Spullen sorteren", "Ingebrachte goederen sorteren en prijzen.")),
        ("public-transport-nearby", "step-free-access", "parking"), "detailhandel",
    ),
    "care_support": ThemeWork(
        ("Zorgcentrum", "Woonzorg", "Thuiszorg", "Kinderopvang"),
        ("8710", "8810", "8891"), "cao VVT",
        (("Koffie en thee rondbrengen", "Bewoners een vast moment van contact bieden."),
         ("Wandelen met bewoners", "Een ommetje in de tuin of de wijk."),
         ("Was vouwen", "Schone was vouwen en wegbrengen."),
         ("Maaltijden rondbrengen", "Maaltijden op de afdelingen uitdelen."),
         ("Activiteiten ondersteunen", "Helpen bij spelletjes, knutselen en zingen.")),
        ("lift", "step-free-access", "adapted-toilet", "quiet-spot"), "zorg",
    ),
    "construction_helpers": ThemeWork(
        ("Bouwbedrijf", "Infra", "Sloopwerken"),
        ("4399", "4311", "4211"), "cao Bouw & Infra",
        (("Bouwplaats opruimen", "Afval en restmateriaal verzamelen."),
         ("Materiaal sjouwen", "Materiaal naar de juiste plek brengen."),
         ("Straatwerk voorbereiden", "Zand en tegels klaarzetten voor de stratenmaker.")),
        ("outdoor-work", "parking"), "bouw",
    ),
    "administration": ThemeWork(
        ("Administratiekantoor", "Documentverwerking", "Dienstverlening"),
        ("8211", "8219"), "wettelijk minimumloon",
        (("Post sorteren", "Binnenkomende post openen en verdelen."),
         ("Scannen en archiveren", "Papieren dossiers scannen en opbergen."),
         ("Gegevens invoeren", "Formulieren overnemen in het systeem."),
         ("Telefoon aannemen", "Bellers doorverbinden of een terugbelnotitie maken.")),
        ("quiet-spot", "lift", "public-transport-nearby", "fixed-workplace"), "administratie",
    ),
    "security": ThemeWork(
        ("Beveiliging", "Toezicht"),
        ("8010",), "cao Particuliere Beveiliging",
        (("Toegang controleren", "Bezoekers aanmelden bij de receptie."),
         ("Rondes lopen", "Vaste controleronde over het terrein.")),
        ("shift-work", "parking"), "beveiliging",
    ),
    "other_elementary": ThemeWork(
        ("Wasserij", "Recycling", "Fietsenmakerij"),
        ("9601", "3811", "9529"), "cao Aan de slag",
        (("Wasgoed sorteren", "Was op kleur en soort sorteren."),
         ("Elektronica demonteren", "Apparaten uit elkaar halen voor hergebruik."),
         ("Fietsen poetsen", "Fietsen schoonmaken voor de verkoop.")),
        ("fixed-workplace", "quiet-spot", "adapted-toilet"), "overig",
    ),
}
# fmt: on

NAME_WORDS: tuple[str, ...] = (
    "De Glans", "Helder", "Puur", "Stralend", "Frisse Start", "Het Anker", "De Linde",
    "Noordster", "De Eendracht", "Zonnehoek", "De Brug", "Morgenrood", "Het Baken", "De Kans",
    "Vlijt", "De Wending", "Samen Sterk", "Krachtig", "De Schakel", "Vakwerk",
)  # fmt: skip

SUPERVISION: tuple[str, ...] = (
    "Een vaste werkbegeleider op de vloer; elke dag starten we met uitleg van de taken.",
    "Een buddy uit het team werkt de eerste weken mee en is het vaste aanspreekpunt.",
    "De teamleider plant wekelijks een kort gesprek; er hangen werkinstructies met foto's.",
    "Begeleiding door een leermeester met ervaring in werken met mensen met een beperking.",
    "Vaste collega's en een vaste plek; vragen kunnen altijd bij de voorman.",
)

PAY_MINIMUM_HOURLY = 14.71  # an illustrative 2026 minimum hourly wage, not an official figure

REQUESTERS: Mapping[str, tuple[str, ...]] = {
    "carved-tasks": ("employer",),
    "neighbourhood-task-package": ("housing-corporation", "neighbourhood-organisation", "gemeente"),
    "werkervaringsplek": ("employer", "gemeente"),
    "proefplaatsing": ("employer",),
    "vrijwilligerswerk": ("neighbourhood-organisation", "care-provider", "school"),
    "arbeidsmatige-dagbesteding": ("care-provider",),
}

ATTESTED_BY: tuple[str, ...] = (
    "werkgever en ondernemingsraad",
    "werkgever",
    "gemeente",
    "werkgever en personeelsvertegenwoordiging",
)
