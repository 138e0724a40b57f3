#!/usr/bin/env python3
"""Writes the small MaxMind-format databases the `geoip` tests read, from made-up data.

Nothing here comes from MaxMind's databases: the networks are documentation or arbitrary
ranges and the places are typed in below. The files are committed; re-run only to change
them:

    python3 -m venv /tmp/mmdb && /tmp/mmdb/bin/pip install -r requirements.txt
    /tmp/mmdb/bin/python make_fixtures.py

Outputs, beside this script: Hydrant-Test-City.mmdb (database_type GeoLite2-City, IPv6
with IPv4 mapped in) and Hydrant-Test-ASN.mmdb (GeoLite2-ASN).
"""
import os

from mmdb_writer import MMDBWriter, MmdbF64, MmdbU32
from netaddr import IPSet

HERE = os.path.dirname(os.path.abspath(__file__))


def names(en):
    return {"en": en, "de": en + " (de)"}


def city():
    w = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-City",
                   languages=["en", "de"], description="Hydrant test City database (made-up data)")
    europe = {"code": "EU", "geoname_id": MmdbU32(6255148), "names": names("Europe")}
    w.insert_network(IPSet(["81.2.69.0/24"]), {
        "city": {"geoname_id": MmdbU32(2643743), "names": names("London")},
        "continent": europe,
        "country": {"geoname_id": MmdbU32(2635167), "iso_code": "GB", "names": names("United Kingdom")},
        "location": {"latitude": MmdbF64(51.5142), "longitude": MmdbF64(-0.0931),
                     "time_zone": "Europe/London", "accuracy_radius": 10},
        "subdivisions": [{"geoname_id": MmdbU32(6269131), "iso_code": "ENG", "names": names("England")}],
    })
    w.insert_network(IPSet(["2001:db8:1::/48"]), {
        "city": {"names": names("Paris")},
        "continent": europe,
        "country": {"iso_code": "FR", "names": names("France")},
        "location": {"latitude": MmdbF64(48.8566), "longitude": MmdbF64(2.3522), "time_zone": "Europe/Paris"},
        "subdivisions": [
            {"iso_code": "IDF", "names": names("Île-de-France")},
            {"iso_code": "75", "names": names("Paris Department")},
        ],
    })
    # A country with no city, region or location: those fields are left out.
    w.insert_network(IPSet(["203.0.113.0/24"]), {
        "continent": {"code": "OC", "names": names("Oceania")},
        "country": {"iso_code": "AU", "names": names("Australia")},
    })
    w.to_db_file(os.path.join(HERE, "Hydrant-Test-City.mmdb"))


def asn():
    w = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-ASN",
                   languages=["en"], description="Hydrant test ASN database (made-up data)")
    w.insert_network(IPSet(["81.2.69.0/24"]), {
        "autonomous_system_number": MmdbU32(64500),
        "autonomous_system_organization": "Example Transit Ltd",
    })
    w.to_db_file(os.path.join(HERE, "Hydrant-Test-ASN.mmdb"))


if __name__ == "__main__":
    city()
    asn()
