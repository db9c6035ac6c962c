"""Sample applicants for `make demo`: about 50 people from many countries, deterministic from a seed.

Names, qualifications and languages are plausible together (a Ukrainian nurse writes in
Ukrainian, an Indian software engineer in English); professions and goals are spread so that
every routing rule, and so every partner, gets cases. Phone numbers are fictitious and SMS go
to the local outbox only. No I/O here: `chalicelib.local.demo` sends these over HTTP.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass
from typing import Any

DEFAULT_SEED = "migranet-demo-1"
DEFAULT_COUNT = 50

# Country → (intake language, names): each name is written as the person writes it on forms,
# most in Latin script, some in their own.
PEOPLE: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "SY": (
        "ar",
        (("Layla", "Haddad"), ("Omar", "Al-Khatib"), ("Rania", "Darwish"), ("Yousef", "Nasser"), ("ليلى", "حداد")),
    ),
    "UA": ("uk", (("Olena", "Kovalenko"), ("Andrii", "Shevchenko"), ("Iryna", "Bondarenko"), ("Дмитро", "Мельник"))),
    "TR": ("tr", (("Emre", "Yılmaz"), ("Elif", "Demir"), ("Mehmet", "Kaya"), ("Zeynep", "Şahin"), ("Burak", "Çelik"))),
    "IN": (
        "en",
        (("Priya", "Sharma"), ("Arjun", "Nair"), ("Ananya", "Iyer"), ("Rahul", "Verma"), ("Deepika", "Reddy")),
    ),
    "BR": ("en", (("Ana", "Souza"), ("Lucas", "Oliveira"), ("Mariana", "Costa"), ("Thiago", "Santos"))),
    "RO": ("ro", (("Ioana", "Popescu"), ("Andrei", "Ionescu"), ("Elena", "Dumitru"), ("Mihai", "Stan"))),
    "PL": (
        "pl",
        (("Katarzyna", "Nowak"), ("Piotr", "Wiśniewski"), ("Agnieszka", "Kowalczyk"), ("Tomasz", "Zieliński")),
    ),
    "IR": ("fa", (("Maryam", "Hosseini"), ("Reza", "Ahmadi"), ("Shirin", "Karimi"), ("آرش", "رحیمی"))),
    "NG": ("en", (("Chinedu", "Okafor"), ("Ngozi", "Adeyemi"), ("Oluwaseun", "Balogun"), ("Amaka", "Eze"))),
    "PH": ("en", (("Maria", "Reyes"), ("Jose", "Dela Cruz"), ("Angelica", "Bautista"), ("Mark", "Villanueva"))),
    "CO": ("es", (("Camila", "Rodríguez"), ("Santiago", "Gómez"), ("Valentina", "Martínez"))),
    "KZ": ("ru", (("Aigerim", "Nurlanova"), ("Нурлан", "Ахметов"), ("Dana", "Sadykova"))),
    "CM": ("fr", (("Jean-Paul", "Mbarga"), ("Aïcha", "Nkoulou"), ("Brice", "Fotso"))),
    "EG": ("ar", (("Mostafa", "Ibrahim"), ("Nour", "Hassan"), ("مريم", "عبد الله"))),
}
COUNTRIES = tuple(PEOPLE)

# Qualification titles as they stand on certificates, by profession group and country ("*": elsewhere).
TITLES: dict[str, dict[str, str]] = {
    "health": {
        "UA": "Медична сестра (молодший спеціаліст)",
        "TR": "Hemşirelik Lisans",
        "RO": "Licență în Medicină Dentară",
        "PL": "Lekarz – dyplom ukończenia studiów",
        "IN": "Bachelor of Medicine, Bachelor of Surgery (MBBS)",
        "PH": "Bachelor of Science in Nursing",
        "SY": "Bachelor of Pharmacy",
        "*": "Diploma in Physiotherapy",
    },
    "engineering": {
        "RO": "Inginer constructor",
        "PL": "Magister inżynier mechanik",
        "BR": "Engenharia Civil (Bacharelado)",
        "TR": "Kimya Mühendisliği Yüksek Lisans",
        "UA": "Магістр з електроенергетики",
        "IN": "Bachelor of Technology in Civil Engineering",
        "*": "Bachelor of Civil Engineering",
    },
    "education": {"UA": "Учитель початкових класів", "CO": "Licenciatura en Pedagogía", "*": "Bachelor of Education"},
    "it": {
        "IN": "Bachelor of Technology in Computer Science",
        "TR": "Bilgisayar Mühendisliği",
        "*": "MSc Software Engineering",
    },
    "business": {
        "CM": "Licence en Comptabilité et Finance",
        "BR": "Administração de Empresas",
        "*": "Bachelor of Commerce",
    },
    "trades": {
        "PH": "Electrician (TESDA NC II)",
        "BR": "Técnico em Mecânica",
        "KZ": "Сварщик 5 разряда",
        "*": "Vocational certificate in welding",
    },
    "other": {"CM": "Licence en Droit", "IR": "کارشناسی روانشناسی", "*": "Bachelor of Arts in Psychology"},
}

# Which partner each profile reaches under the default routing rules (health → LMU Klinikum,
# engineering → Akademie der Ingenieure, recognition → Servicestelle, registered job seekers →
# Arbeitsagentur, everyone else → VIA Bayern): ten of each for 50 applicants.
PROFILES: tuple[dict[str, Any], ...] = (
    {
        "groups": ("health",),
        "goals": (("recognition", "job"), ("recognition",), ("job", "language")),
        "registered": None,
    },
    {"groups": ("engineering",), "goals": (("recognition", "job"), ("job",), ("training", "job")), "registered": None},
    {
        "groups": ("education", "business", "other", "it"),
        "goals": (("recognition",), ("recognition", "language"), ("recognition", "job")),
        "registered": None,
    },
    {
        "groups": ("it", "business", "trades"),
        "goals": (("job",), ("job", "training"), ("job", "language")),
        "registered": True,
    },
    {
        "groups": ("other", "trades", "business", "education"),
        "goals": (("language", "orientation"), ("orientation",), ("training",), ("language",)),
        "registered": False,
    },
)

LEVELS = {"health": ("bachelor", "master", "doctorate", "vocational"), "trades": ("vocational", "none")}
GERMAN_LEVELS = ("none", "A1", "A2", "B1", "B1", "B2", "B2", "C1")
POSTCODES = ("80331", "80335", "80469", "80636", "80809", "80993", "81241", "81369", "81541", "81737", "81829", "85748")
MESSAGES = {
    "ar": "أبحث عن عمل في مجال تخصصي. يمكنكم الاتصال بي بعد الساعة الرابعة.",
    "uk": "Шукаю роботу за фахом. Зателефонуйте, будь ласка, після 16:00.",
    "tr": "Diplomamın tanınması için hangi belgelere ihtiyacım var?",
    "en": "I would like to know how long the recognition takes. Mornings are best for a call.",
    "ro": "Aș dori să lucrez în domeniul meu cât mai curând.",
    "pl": "Chciałabym uznać mój dyplom i znaleźć pracę w Monachium.",
    "fa": "می‌خواهم مدرکم به رسمیت شناخته شود.",
    "es": "Busco trabajo y también un curso de alemán.",
    "ru": "Ищу курсы немецкого языка и консультацию.",
    "fr": "Je cherche un emploi et des conseils pour la reconnaissance de mon diplôme.",
}


@dataclass(frozen=True)
class Applicant:
    key: str  # the Idempotency-Key: the same seed and position always give the same key
    intake: dict[str, Any]

    @property
    def family_name(self) -> str:
        return str(self.intake["family_name"])


def idempotency_key(seed: str, index: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"migranet-demo:{seed}:{index}"))


def _phone(seed: str, index: int) -> str:
    # 0151 555… numbers: plausible German mobiles, not anyone's (the outbox never sends them anyway).
    digits = int(hashlib.sha256(f"{seed}:{index}".encode()).hexdigest()[:6], 16) % 1000
    return f"+49 151 555{index % 100:02d}{digits:03d}"


def _email(given: str, family: str, index: int) -> str | None:
    ascii_name = "".join(c for c in f"{given}.{family}".lower() if c.isascii() and (c.isalnum() or c == "."))
    return f"{ascii_name.strip('.') or 'applicant'}{index}@example.org"


def applicant(seed: str, index: int) -> Applicant:
    """Applicant number `index` (0-based) of the demo set made from `seed`."""
    rng = random.Random(f"{seed}:{index}")
    country = COUNTRIES[index % len(COUNTRIES)]
    language, names = PEOPLE[country]
    profile = PROFILES[index % len(PROFILES)]
    group = rng.choice(profile["groups"])
    goals = list(rng.choice(profile["goals"]))
    registered = profile["registered"] if profile["registered"] is not None else rng.random() < 0.3
    given, family = names[(index // len(COUNTRIES)) % len(names)]  # everyone different up to ~55 people
    sms = rng.random() < 0.8
    intake: dict[str, Any] = {
        "language": language,
        "given_name": given,
        "family_name": family,
        "postcode": rng.choice(POSTCODES),
        "qualification": {
            "country": country,
            "title": TITLES[group].get(country, TITLES[group]["*"]),
            "profession_group": group,
            "level": rng.choice(LEVELS.get(group, ("bachelor", "master", "vocational"))),
        },
        "german_level": rng.choice(GERMAN_LEVELS),
        "goals": goals,
        "registered_with_employment_agency": registered,
        "consent": {"data_processing": True, "share_with_partners": True, "sms": sms},
    }
    if sms or rng.random() < 0.5:
        intake["phone"] = _phone(seed, index)
    if rng.random() < 0.6:
        intake["email"] = _email(given, family, index)
    if rng.random() < 0.5:
        intake["message"] = MESSAGES[language]
    return Applicant(idempotency_key(seed, index), intake)


def applicants(seed: str = DEFAULT_SEED, count: int = DEFAULT_COUNT) -> list[Applicant]:
    return [applicant(seed, index) for index in range(count)]


# Staff of each partner who act in the demo (names as they would appear in Cognito).
STAFF_NAMES = {
    "lmu-klinikum": "Dr. Sabine Huber",
    "akademie-ingenieure": "Markus Weber",
    "servicestelle-muenchen": "Aylin Kaya",
    "arbeitsagentur-muenchen": "Thomas Müller",
    "via-bayern": "Fatma Yıldız",
}
