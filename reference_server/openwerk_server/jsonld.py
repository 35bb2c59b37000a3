"""schema.org ``JobPosting`` (JSON-LD) for a vacancy, for job boards and search engines.

OW-OPP-005: ``GET /vacancies/{id}`` with ``Accept: application/ld+json``. Only L0 members of
the vacancy go in; the mapping follows Google's JobPosting guidance where schema.org leaves
room (``employmentType`` values, ``identifier`` as a ``PropertyValue``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openwerk_server.storage import StoredOpportunity
from openwerk_spec.codelists import load_code_list

__all__ = ["LD_JSON", "job_posting"]

LD_JSON = "application/ld+json"

_PAY_UNITS: Mapping[str, str] = {"hour": "HOUR", "month": "MONTH", "year": "YEAR"}
_FULL_TIME_HOURS = 36


def _employment_types(document: Mapping[str, Any]) -> list[str]:
    hours = document.get("hoursPerWeek", {})
    types = ["FULL_TIME" if hours.get("max", 0) >= _FULL_TIME_HOURS else "PART_TIME"]
    contract = document.get("contract", {}).get("type")
    if contract in ("fixed-term", "uitzend", "detachering", "payroll"):
        types.append("TEMPORARY")
    if document.get("kind") in ("leerwerkplek",):
        types.append("INTERN")
    return types


def job_posting(vacancy: StoredOpportunity, *, base_url: str) -> dict[str, Any]:
    """The ``JobPosting`` for a stored vacancy."""
    document = vacancy.as_document()
    employer = document["employer"]
    location = document["location"]
    gemeente = load_code_list("gemeenten").item(location["gemeente"])
    organisation: dict[str, Any] = {"@type": "Organization", "name": employer["name"]}
    if "kvkNumber" in employer:
        organisation["identifier"] = {
            "@type": "PropertyValue",
            "propertyID": "KvK",
            "value": employer["kvkNumber"],
        }
    address: dict[str, Any] = {
        "@type": "PostalAddress",
        "addressLocality": gemeente.label["nl"],
        "addressCountry": "NL",
    }
    if "postcode4" in location:
        address["postalCode"] = location["postcode4"]
    url = f"{base_url}/vacancies/{vacancy.id}"
    posting: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "JobPosting",
        "title": document["title"],
        "description": document["description"],
        "datePosted": vacancy.created_at.date().isoformat(),
        "validThrough": document["validThrough"],
        "employmentType": _employment_types(document),
        "hiringOrganization": organisation,
        "jobLocation": {"@type": "Place", "address": address},
        "identifier": {"@type": "PropertyValue", "name": vacancy.publisher, "value": vacancy.id},
        "occupationalCategory": document["occupation"]["isco08"],
        "skills": [skill["label"] for skill in document.get("skills", [])],
        "workHours": (
            f"{document['hoursPerWeek']['min']}-{document['hoursPerWeek']['max']} hours per week"
        ),
        "url": document.get("applicationUrl", url),
    }
    if "startDate" in document:
        posting["jobStartDate"] = document["startDate"]
    pay = document.get("pay")
    if pay and ("min" in pay or "max" in pay):
        value: dict[str, Any] = {"@type": "QuantitativeValue", "unitText": _PAY_UNITS[pay["unit"]]}
        if "min" in pay:
            value["minValue"] = pay["min"]
        if "max" in pay:
            value["maxValue"] = pay["max"]
        posting["baseSalary"] = {"@type": "MonetaryAmount", "currency": "EUR", "value": value}
    return posting
