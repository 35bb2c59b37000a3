"""Fake identities: names by background, languages, BSNs that pass the elfproef, contacts.

Everything here is invented. Names come from lists of common given and family names in the
Netherlands and in the communities candidates come from (Dutch, Moroccan-, Turkish-,
Surinamese- and Antillean-Dutch, Polish labour migrants, and newcomers from Syria, Eritrea,
Afghanistan, Iran, Somalia and Ukraine), so a pool looks like a real caseload without being
one. Email addresses use the reserved ``example.*`` domains (RFC 2606). BSNs start with 9
and are unique per generator (a bijection of the candidate index), so a pool never carries
the same BSN twice.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

from openwerk.synthetic._sampling import Draw, Uniform, weighted

__all__ = [
    "ORIGINS",
    "Origin",
    "bsn_for",
    "email_for",
    "is_valid_bsn",
    "phone_for",
]

_CEFR_NATIVE = weighted([("C2", 8), ("C1", 2)])
_CEFR_NL_SECOND_GEN = weighted([("C2", 5), ("C1", 3), ("B2", 2)])
_CEFR_NL_NEWCOMER = weighted([("A1", 35), ("A2", 40), ("B1", 25)])
_CEFR_NL_MIGRANT = weighted([("A1", 25), ("A2", 40), ("B1", 30), ("B2", 5)])
_CEFR_NL_DUTCH = weighted([("C2", 60), ("C1", 22), ("B2", 10), ("B1", 6), ("A2", 2)])
_CEFR_FOREIGN = weighted([("A1", 15), ("A2", 35), ("B1", 35), ("B2", 15)])
_CEFR_HERITAGE = weighted([("B1", 30), ("B2", 40), ("C1", 30)])

#: (ISO 639 code, probability, level table); the first rule is always applied.
LanguageRule = tuple[str, float, Draw[str]]


@dataclass(frozen=True, slots=True)
class Origin:
    """A background: where the names come from, which languages go with it, how common."""

    name: str
    male: tuple[str, ...]
    female: tuple[str, ...]
    family: tuple[str, ...]
    languages: tuple[LanguageRule, ...]
    newcomer: bool

    def languages_for(self, r: Uniform) -> list[dict[str, str]]:
        """LanguageSkill payloads: rules with probability 1 always, others by chance."""
        return [
            {"code": code, "level": levels(r)}
            for code, probability, levels in self.languages
            if probability >= 1.0 or r() < probability
        ]


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


# fmt: off
ORIGINS: dict[str, Origin] = {o.name: o for o in (
    Origin(
        "dutch",
        _names("Jan, Pieter, Kees, Henk, Willem, Johan, Gerrit, Hans, Peter, Mark, Dennis, Sander,"
               "Martijn, Jeroen, Erik, Rob, Bas, Tim, Thijs, Lars, Daan, Sem, Luuk, Bram, Jesse,"
               "Stijn, Ruben, Niels, Kevin, Mike, Ricardo, Patrick, Marco, Ronald, Frank, Wim,"
               "Joost, Koen, Milan, Nick, Tom, Jelle, Rick, Jasper, Wouter, Roy, Sven, Gijs"),
        _names("Anna, Maria, Johanna, Els, Ingrid, Monique, Sandra, Linda, Petra, Marieke, Esther,"
               "Anouk, Lisa, Sanne, Femke, Iris, Lotte, Fleur, Eva, Sophie, Julia, Emma, Noor,"
               "Tess, Roos, Kim, Naomi, Denise, Chantal, Wendy, Bianca, Priscilla, Jolanda, Karin,"
               "Annemieke, Marloes, Ilse, Nicole, Romy, Demi, Britt, Lieke, Floor, Yvonne, Mirjam,"
               "Hanneke, Wilma, Ria, Tineke, Joyce"),
        _names("de Jong, Jansen, de Vries, van den Berg, van Dijk, Bakker, Janssen, Visser, Smit,"
               "Meijer, de Boer, Mulder, de Groot, Bos, Vos, Peters, Hendriks, van Leeuwen, Dekker,"
               "Brouwer, de Wit, Dijkstra, Smits, de Graaf, van der Meer, van der Linden, Kok,"
               "Jacobs, de Haan, Vermeulen, van den Heuvel, van der Veen, van den Broek,"
               "de Bruijn, van der Heijden, Schouten, van Beek, Willems, van Vliet, van de Ven,"
               "Hoekstra, Maas, Verhoeven, Koster, van Dam, van der Wal, Prins, Blom, Huisman,"
               "de Jonge, Kuipers, van Veen, Post, Kuiper, Veenstra, Kramer, van den Brink,"
               "Scholten, van Wijk, Postma,"
               "Martens, Vink, de Ruiter, Timmermans, Groen, Gerritsen, Jonker, van Loon,"
               "van der Velde, Willemsen, Smeets, de Lange, Bosch, van Dongen, Schipper, de Koning,"
               "van der Laan, Driessen, van Doorn, Hermans, Evers, van den Bosch, van der Meulen,"
               "Hofman, Bosman, Wolters, Verbeek, Veldhuis, Brinkman, Lammers, Wijnands, Stam"),
        (("nl", 1.0, _CEFR_NL_DUTCH), ("en", 0.45, _CEFR_FOREIGN), ("de", 0.05, _CEFR_FOREIGN)),
        newcomer=False,
    ),
    Origin(
        "moroccan",
        _names("Mohamed, Ahmed, Youssef, Hamza, Bilal, Mehdi, Karim, Said, Rachid, Mustafa, Ayoub,"
               "Anas, Ilias, Soufiane, Nordin, Abdelkader, Khalid, Othman"),
        _names("Fatima, Khadija, Nadia, Samira, Latifa, Imane, Yasmina, Salma, Hanane, Naima,"
               "Malika, Soumaya, Ikram, Meryem, Houda, Sara"),
        _names("El Amrani, Bouzid, El Idrissi, Benali, Azzouz, El Khattabi, Bakkali, Ouali,"
               "Achahbar, Boukhari, Aarab, El Hamdaoui, Tahiri, Ziani, Belhaj, Haddouchi,"
               "El Ouardi, Yahyaoui, Chaara, Amrani"),
        (("nl", 1.0, _CEFR_NL_SECOND_GEN), ("ar", 0.6, _CEFR_HERITAGE),
         ("rif", 0.4, _CEFR_HERITAGE), ("fr", 0.15, _CEFR_FOREIGN), ("en", 0.3, _CEFR_FOREIGN)),
        newcomer=False,
    ),
    Origin(
        "turkish",
        _names("Mehmet, Mustafa, Emre, Burak, Hakan, Murat, Ali, Hüseyin, Kemal, Serkan, Ozan,"
               "Yusuf, Cem, Onur"),
        _names("Ayşe, Fatma, Elif, Zeynep, Emine, Hatice, Merve, Büşra, Derya, Esra, Gül, Sevda,"
               "Özlem"),
        _names("Yılmaz, Kaya, Demir, Çelik, Şahin, Yıldız, Yıldırım, Öztürk, Aydın, Özdemir,"
               "Arslan, Doğan, Kılıç, Aslan, Çetin, Kara, Koç, Kurt, Özkan, Polat"),
        (("nl", 1.0, _CEFR_NL_SECOND_GEN), ("tr", 0.85, _CEFR_HERITAGE),
         ("en", 0.35, _CEFR_FOREIGN)),
        newcomer=False,
    ),
    Origin(
        "caribbean",
        _names("Kenneth, Romano, Dwight, Glenn, Orlando, Ravi, Anil, Sunil, Rishi, Giovanni,"
               "Jurgen, Marlon, Stanley, Roy"),
        _names("Sharon, Cynthia, Shirley, Priya, Anjali, Sita, Ghislaine, Roxanne, Jennifer,"
               "Natasha, Shanti, Ruth, Germaine, Melissa"),
        _names("Pinas, Sitaldin, Ramdin, Jagesar, Soekhoe, Tjon A Fong, Brunings, Kromodikoro,"
               "Wijngaarde, Doekhie, Martina, Statia, Girigorie, Pieternella, Rosaria, Kalloe,"
               "Mahabier, Ramsaran, Amatdjais, Linger"),
        (("nl", 1.0, _CEFR_NL_SECOND_GEN), ("srn", 0.35, _CEFR_HERITAGE),
         ("pap", 0.25, _CEFR_NATIVE), ("hns", 0.15, _CEFR_HERITAGE), ("en", 0.5, _CEFR_FOREIGN)),
        newcomer=False,
    ),
    Origin(
        "polish",
        _names("Piotr, Tomasz, Krzysztof, Paweł, Marcin, Michał, Łukasz, Jakub, Adam, Kamil"),
        _names("Agnieszka, Katarzyna, Magdalena, Joanna, Monika, Aleksandra, Natalia, Karolina,"
               "Ewa, Justyna"),
        _names("Nowak, Wójcik, Kowalczyk, Woźniak, Mazur, Krawczyk, Zając, Król, Wieczorek,"
               "Kaczmarek, Michalak, Sikora, Baran, Duda, Szewczyk, Pawlak, Walczak, Dudek"),
        (("pl", 1.0, _CEFR_NATIVE), ("nl", 0.9, _CEFR_NL_MIGRANT), ("en", 0.55, _CEFR_FOREIGN),
         ("de", 0.15, _CEFR_FOREIGN)),
        newcomer=False,
    ),
    Origin(
        "syrian",
        _names("Ahmad, Mohammad, Omar, Khaled, Mahmoud, Abdullah, Hassan, Firas, Yazan, Tarek,"
               "Rami, Anas, Majd, Fadi"),
        _names("Rania, Lina, Hala, Dima, Nour, Reem, Rasha, Aya, Heba, Farah, Ghada, Amal, Maha,"
               "Yara"),
        _names("Al-Hassan, Haddad, Khalil, Al-Ahmad, Al-Ali, Hamdan, Darwish, Al-Khatib, Saleh,"
               "Mansour, Najjar, Aboud, Al-Masri, Kanaan, Sabbagh, Hamoud, Al-Halabi, Qassem"),
        (("ar", 1.0, _CEFR_NATIVE), ("nl", 1.0, _CEFR_NL_NEWCOMER), ("en", 0.4, _CEFR_FOREIGN),
         ("ku", 0.15, _CEFR_NATIVE)),
        newcomer=True,
    ),
    Origin(
        "eritrean",
        _names("Yonas, Tesfay, Dawit, Filmon, Samuel, Mebrahtu, Robel, Habtom, Biniam, Aron,"
               "Tekle, Henok"),
        _names("Semhar, Helen, Selam, Saba, Lidia, Rahel, Merhawit, Luwam, Senait, Yordanos,"
               "Winta, Hiwet"),
        _names("Tesfamariam, Ghebremedhin, Habte, Kidane, Tekle, Berhane, Haile, Gebru,"
               "Weldemichael, Asmerom, Ghebreyesus, Andemariam, Mehari, Tewelde, Yohannes"),
        (("ti", 1.0, _CEFR_NATIVE), ("nl", 1.0, _CEFR_NL_NEWCOMER), ("en", 0.3, _CEFR_FOREIGN),
         ("am", 0.2, _CEFR_HERITAGE), ("ar", 0.1, _CEFR_FOREIGN)),
        newcomer=True,
    ),
    Origin(
        "afghan",
        _names("Ahmad, Farid, Mahmood, Jawid, Naveed, Sayed, Hamid, Rahim, Mustafa, Wahid,"
               "Zabihullah, Ezatullah"),
        _names("Zahra, Fatema, Maryam, Parisa, Soraya, Nargis, Shabnam, Roya, Mariam, Fereshta,"
               "Zainab"),
        _names("Rahimi, Ahmadzai, Hashimi, Noori, Sultani, Karimi, Popal, Habibi, Nazari, Safi,"
               "Stanekzai, Azizi, Hakimi, Amiri"),
        (("prs", 1.0, _CEFR_NATIVE), ("nl", 1.0, _CEFR_NL_NEWCOMER), ("ps", 0.3, _CEFR_HERITAGE),
         ("en", 0.3, _CEFR_FOREIGN)),
        newcomer=True,
    ),
    Origin(
        "iranian",
        _names("Reza, Ali, Hossein, Mehdi, Amir, Babak, Farhad, Kaveh, Navid, Saeed"),
        _names("Maryam, Leila, Shirin, Nazanin, Parisa, Mahsa, Niloufar, Sara, Azadeh, Roya"),
        _names("Hosseini, Karimi, Mohammadi, Rahmani, Ahmadi, Rezaei, Moradi, Jafari, Sadeghi,"
               "Ghasemi, Kazemi, Bagheri"),
        (("fa", 1.0, _CEFR_NATIVE), ("nl", 1.0, _CEFR_NL_NEWCOMER), ("en", 0.6, _CEFR_FOREIGN)),
        newcomer=True,
    ),
    Origin(
        "somali",
        _names("Abdi, Mohamed, Ahmed, Abdirahman, Hassan, Omar, Ismail, Yusuf, Abdullahi, Liban,"
               "Mahad"),
        _names("Hodan, Fadumo, Amina, Asha, Hawa, Ifrah, Sahra, Nimco, Ubah, Khadra, Hibo"),
        _names("Farah, Warsame, Abdi, Hassan, Jama, Ali, Nur, Osman, Omar, Aden, Hussein,"
               "Abdullahi, Mohamud, Yusuf, Egal"),
        (("so", 1.0, _CEFR_NATIVE), ("nl", 1.0, _CEFR_NL_NEWCOMER), ("en", 0.3, _CEFR_FOREIGN),
         ("ar", 0.3, _CEFR_FOREIGN)),
        newcomer=True,
    ),
    Origin(
        "ukrainian",
        _names("Oleksandr, Andrii, Dmytro, Serhii, Mykola, Volodymyr, Yurii, Ivan, Maksym,"
               "Bohdan, Taras, Vitalii"),
        _names("Olena, Iryna, Oksana, Natalia, Tetiana, Yuliia, Kateryna, Anastasiia, Svitlana,"
               "Viktoriia, Mariia, Halyna"),
        _names("Kovalenko, Shevchenko, Bondarenko, Melnyk, Tkachenko, Kravchenko, Boyko,"
               "Oliinyk, Kovalchuk, Lysenko, Marchenko, Rudenko, Savchenko, Petrenko, Moroz"),
        (("uk", 1.0, _CEFR_NATIVE), ("nl", 1.0, _CEFR_NL_NEWCOMER), ("ru", 0.6, _CEFR_HERITAGE),
         ("en", 0.5, _CEFR_FOREIGN)),
        newcomer=True,
    ),
)}
# fmt: on

#: How common each background is among newcomers and among everyone else.
NEWCOMER_ORIGINS = weighted(
    [("syrian", 32), ("eritrean", 24), ("afghan", 10), ("iranian", 6), ("somali", 6),
     ("ukrainian", 22)]
)  # fmt: skip
SETTLED_ORIGINS = weighted(
    [("dutch", 72), ("moroccan", 9), ("turkish", 8), ("caribbean", 7), ("polish", 4)]
)

_ASCII = str.maketrans({"ı": "i", "ł": "l", "Ł": "L", "ø": "o", "ß": "ss", "æ": "ae", "đ": "d"})
_EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com")


@functools.lru_cache(maxsize=4096)
def _slug(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name.translate(_ASCII))
    letters = "".join(c for c in folded if c.isascii() and (c.isalnum() or c in " -"))
    return letters.lower().replace(" ", "").replace("-", "")


def email_for(r: Uniform, given: str, family: str) -> str:
    """A plausible address at a reserved example domain."""
    given_slug, family_slug = _slug(given), _slug(family)
    style = int(r() * 4)
    if style == 0:
        local = f"{given_slug}.{family_slug}"
    elif style == 1:
        local = f"{given_slug[:1]}.{family_slug}"
    elif style == 2:
        local = f"{given_slug}{family_slug}{1 + int(r() * 99)}"
    else:
        local = f"{family_slug}.{given_slug}{70 + int(r() * 30)}"
    return f"{local}@{_EMAIL_DOMAINS[int(r() * len(_EMAIL_DOMAINS))]}"


def phone_for(r: Uniform) -> str:
    """A Dutch mobile number (06) in one of the ways people write it."""
    digits = f"{10_000_000 + int(r() * 90_000_000)}"
    style = int(r() * 3)
    if style == 0:
        return f"06-{digits}"
    if style == 1:
        return f"06 {digits[:2]} {digits[2:4]} {digits[4:6]} {digits[6:]}"
    return f"+31 6 {digits}"


_BSN_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2)
_BLOCK = 1_000_000
# Weighted digit sums of 3-digit chunks (weights 8,7,6 and 5,4,3): two lookups per BSN.
_HIGH = tuple(8 * (x // 100) + 7 * (x // 10 % 10) + 6 * (x % 10) for x in range(1000))
_LOW = tuple(5 * (x // 100) + 4 * (x // 10 % 10) + 3 * (x % 10) for x in range(1000))


def is_valid_bsn(bsn: str) -> bool:
    """The elfproef: 9 digits, Σ weight·digit with weights 9..2 and -1 is divisible by 11."""
    if len(bsn) != 9 or not bsn.isdigit() or bsn == "000000000":
        return False
    total = sum(w * int(d) for w, d in zip(_BSN_WEIGHTS, bsn, strict=False)) - int(bsn[8])
    return total % 11 == 0


def _permute(index: int, key: int) -> int:
    """A keyed bijection on [0, 10**6): three Feistel rounds on two 3-digit halves."""
    left, right = divmod(index, 1000)
    for round_key in (key & 0xFFFF, (key >> 16) & 0xFFFF, (key >> 32) & 0xFFFF):
        left, right = right, (left + (right * 7919 + round_key) * 2654435761 % 1000) % 1000
    return left * 1000 + right


def bsn_for(index: int, key: int) -> str:
    """The BSN of candidate ``index``: unique per (key, index), elfproef-valid, starting 9..1.

    Seven digits come from a keyed permutation of the index (so every index has its own);
    the eighth is varied and the ninth is the check digit that satisfies the elfproef.
    """
    block, offset = divmod(index, _BLOCK)
    if block > 8:
        raise ValueError("at most 9,000,000 candidates per generator")
    lead, body = 9 - block, _permute(offset, key)
    partial = 9 * lead + _HIGH[body // 1000] + _LOW[body % 1000]
    for step in range(10):
        d8 = (index + key + step) % 10
        d9 = (partial + 2 * d8) % 11
        if d9 <= 9:
            return f"{lead}{body:06d}{d8}{d9}"
    raise AssertionError("unreachable: some d8 always gives a check digit below 10")
