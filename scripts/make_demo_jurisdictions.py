"""Build the illustrative demo jurisdictions and gazetteer for five Uttar Pradesh districts.

Writes ``data/jurisdictions.geojson`` (one area per police station) and ``data/gazetteer.csv``
(station towns, district headquarters, villages and landmarks, each tagged with the station
whose area holds it).

The station names are real UP police stations (thanas); their positions are approximate
coordinates of the station towns or localities, authored by hand. UP police-station boundaries
are not public, so each station's area is its Voronoi cell among the stations of its district,
clipped to a hand-authored, simplified district outline. Neighbouring districts of the Varanasi
range share border vertices, so the areas tile the districts without gaps or overlaps. None of
it is ground truth: it is demo data for the service and its tests.

Usage: .venv/bin/python scripts/make_demo_jurisdictions.py
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPoint, Point, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry

REPO = Path(__file__).resolve().parents[1]
JURISDICTIONS_PATH = REPO / "data" / "jurisdictions.geojson"
GAZETTEER_PATH = REPO / "data" / "gazetteer.csv"

PRECISION = 1e-5  # degrees; about 1 m, the 5 decimals written to the files
MIN_PART_KM2 = 0.05  # a smaller detached piece of a station area counts as a sliver
KM_PER_DEG_LAT = 111.32

GAZETTEER_HEADER = ["name", "name_hi", "aliases", "lat", "lon", "kind", "district", "station_id"]
KINDS = {"station_town", "village", "landmark", "district_hq"}


@dataclass(frozen=True)
class District:
    """A police district and its place in the hierarchy (zone > range > district)."""

    name: str
    code: str
    range: str
    zone: str
    group: str  # districts in one group share borders and are built together
    outline: tuple[str, ...]  # keys into VERTICES, one ring


@dataclass(frozen=True)
class Station:
    """A police station (thana): its approximate position and circle."""

    id: str
    name: str
    name_hi: str
    lat: float
    lon: float
    circle: str
    district: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Place:
    """A gazetteer entry that is not a station town."""

    name: str
    name_hi: str
    aliases: tuple[str, ...]
    lat: float
    lon: float
    kind: str
    district: str


# Border vertices (lon, lat) of the simplified district outlines. A border between two
# districts is one sequence of named vertices used by both, so neighbours share it exactly.
VERTICES: dict[str, tuple[float, float]] = {
    # Etawah (Kanpur range): Mainpuri to the north, Auraiya east, the Chambal ravines south.
    "ETW_W": (78.79, 26.88),
    "ETW_NW": (78.84, 27.00),
    "ETW_N": (78.97, 27.04),
    "ETW_N2": (79.12, 27.01),
    "ETW_NE": (79.27, 26.99),
    "ETW_E": (79.33, 26.85),
    "ETW_E2": (79.31, 26.70),
    "ETW_SE": (79.29, 26.57),
    "ETW_PACHNADA": (79.25, 26.46),
    "ETW_S": (79.14, 26.42),
    "ETW_S2": (79.04, 26.50),
    "ETW_SW": (78.95, 26.57),
    "ETW_SW2": (78.87, 26.67),
    "ETW_W2": (78.80, 26.77),
    # Jaunpur: Ambedkar Nagar / Sultanpur north and west, Pratapgarh and Bhadohi south-west.
    "JNP_N": (82.62, 26.22),
    "JNP_NE": (82.80, 26.02),
    "JNP_E": (82.95, 25.85),
    "JNP_S": (82.48, 25.47),
    "JNP_SW": (82.28, 25.55),
    "JNP_W": (82.14, 25.68),
    "JNP_NW": (82.35, 25.95),
    "JNP_NW2": (82.50, 26.12),
    # Tri-points and shared borders of the Varanasi range.
    "JNP_GZP_AZM": (83.10, 25.72),  # Jaunpur / Ghazipur / Azamgarh
    "JNP_GZP_VNS": (83.08, 25.55),  # on the Gomti
    "JNP_VNS_1": (82.98, 25.56),
    "JNP_VNS_2": (82.86, 25.62),
    "JNP_VNS_3": (82.78, 25.57),
    "JNP_VNS_BHD": (82.72, 25.46),  # Jaunpur / Varanasi / Bhadohi
    "VNS_GZP_CDL": (83.16, 25.50),  # Gomti-Ganga confluence at Kaithi
    "VNS_CDL_1": (83.12, 25.42),  # the Ganga north of the city
    "VNS_CDL_2": (83.06, 25.35),
    "VNS_CDL_3": (83.06, 25.30),  # leaves the river: Ramnagar on the east bank is Varanasi
    "VNS_CDL_4": (83.07, 25.25),
    "VNS_CDL_5": (83.03, 25.20),
    "VNS_CDL_MZP": (82.98, 25.17),  # Varanasi / Chandauli / Mirzapur
    "VNS_S1": (82.88, 25.18),
    "VNS_S2": (82.76, 25.20),
    "VNS_W1": (82.70, 25.25),
    "VNS_W2": (82.69, 25.36),
    "GZP_N1": (83.18, 25.78),
    "GZP_N2": (83.30, 25.80),
    "GZP_N3": (83.60, 25.86),
    "GZP_NE": (83.80, 25.81),
    "GZP_E": (83.93, 25.72),
    "GZP_BLA_BIH": (83.97, 25.56),  # Ghazipur / Ballia / Bihar on the Ganga
    "GZP_SE": (83.86, 25.45),
    "GZP_S": (83.72, 25.38),
    "GZP_CDL_BIH": (83.60, 25.30),  # on the Karmanasa
    "GZP_CDL_1": (83.50, 25.36),
    "GZP_CDL_2": (83.44, 25.44),
    "GZP_CDL_3": (83.40, 25.52),  # back on the Ganga
    "CDL_E1": (83.50, 25.18),
    "CDL_E2": (83.38, 24.80),
    "CDL_S": (83.32, 24.60),
    "CDL_SW": (83.20, 24.63),
    "CDL_W": (83.12, 25.05),
}

DISTRICTS: tuple[District, ...] = (
    District(
        name="Etawah",
        code="ETW",
        range="Kanpur",
        zone="Kanpur",
        group="kanpur",
        outline=(
            "ETW_W",
            "ETW_NW",
            "ETW_N",
            "ETW_N2",
            "ETW_NE",
            "ETW_E",
            "ETW_E2",
            "ETW_SE",
            "ETW_PACHNADA",
            "ETW_S",
            "ETW_S2",
            "ETW_SW",
            "ETW_SW2",
            "ETW_W2",
        ),
    ),
    District(
        name="Varanasi",
        code="VNS",
        range="Varanasi",
        zone="Varanasi",
        group="varanasi",
        outline=(
            "JNP_VNS_BHD",
            "JNP_VNS_3",
            "JNP_VNS_2",
            "JNP_VNS_1",
            "JNP_GZP_VNS",
            "VNS_GZP_CDL",
            "VNS_CDL_1",
            "VNS_CDL_2",
            "VNS_CDL_3",
            "VNS_CDL_4",
            "VNS_CDL_5",
            "VNS_CDL_MZP",
            "VNS_S1",
            "VNS_S2",
            "VNS_W1",
            "VNS_W2",
        ),
    ),
    District(
        name="Jaunpur",
        code="JNP",
        range="Varanasi",
        zone="Varanasi",
        group="varanasi",
        outline=(
            "JNP_N",
            "JNP_NE",
            "JNP_E",
            "JNP_GZP_AZM",
            "JNP_GZP_VNS",
            "JNP_VNS_1",
            "JNP_VNS_2",
            "JNP_VNS_3",
            "JNP_VNS_BHD",
            "JNP_S",
            "JNP_SW",
            "JNP_W",
            "JNP_NW",
            "JNP_NW2",
        ),
    ),
    District(
        name="Ghazipur",
        code="GZP",
        range="Varanasi",
        zone="Varanasi",
        group="varanasi",
        outline=(
            "JNP_GZP_AZM",
            "GZP_N1",
            "GZP_N2",
            "GZP_N3",
            "GZP_NE",
            "GZP_E",
            "GZP_BLA_BIH",
            "GZP_SE",
            "GZP_S",
            "GZP_CDL_BIH",
            "GZP_CDL_1",
            "GZP_CDL_2",
            "GZP_CDL_3",
            "VNS_GZP_CDL",
            "JNP_GZP_VNS",
        ),
    ),
    District(
        name="Chandauli",
        code="CDL",
        range="Varanasi",
        zone="Varanasi",
        group="varanasi",
        outline=(
            "VNS_GZP_CDL",
            "GZP_CDL_3",
            "GZP_CDL_2",
            "GZP_CDL_1",
            "GZP_CDL_BIH",
            "CDL_E1",
            "CDL_E2",
            "CDL_S",
            "CDL_SW",
            "CDL_W",
            "VNS_CDL_MZP",
            "VNS_CDL_5",
            "VNS_CDL_4",
            "VNS_CDL_3",
            "VNS_CDL_2",
            "VNS_CDL_1",
        ),
    ),
)

# Real station names; positions are the approximate town or locality. Circles are illustrative
# circle-officer (in Varanasi: ACP) areas, unique across districts. One station a line:
# district code | slug | name | name_hi | lat | lon | circle | aliases (';'-separated, optional);
# an indented line carries on the aliases of the line above.
STATION_TABLE = """
ETW | KOTWALI | Kotwali Etawah | कोतवाली इटावा | 26.7800 | 79.0230 | City Etawah
ETW | CIVIL-LINES | Civil Lines | सिविल लाइंस | 26.7750 | 79.0000 | City Etawah
ETW | FRIENDS-COLONY | Friends Colony | फ्रेंड्स कॉलोनी | 26.7900 | 79.0450 | City Etawah
ETW | EKDIL | Ekdil | इकदिल | 26.7350 | 79.1000 | Sadar Etawah
ETW | BASREHAR | Basrehar | बसरेहर | 26.8600 | 79.1100 | Sadar Etawah
ETW | CHAUBIA | Chaubia | चौबिया | 26.8500 | 79.0000 | Sadar Etawah
ETW | JASWANTNAGAR | Jaswantnagar | जसवंतनगर | 26.8850 | 78.9100 | Jaswantnagar |
    Jaswant Nagar;Jasvantnagar
ETW | BITHAULI | Bithauli | बिठौली | 26.7800 | 78.8700 | Jaswantnagar
ETW | SAIFAI | Saifai | सैफई | 26.9550 | 78.9600 | Saifai | Saifai village
ETW | VAIDPURA | Vaidpura | वैदपुरा | 26.9400 | 79.1300 | Saifai | Baidpura
ETW | USRAHAR | Usrahar | ऊसराहार | 26.9000 | 79.2000 | Saifai | Usrahaar
ETW | BHARTHANA | Bharthana | भरथना | 26.7540 | 79.2300 | Bharthana
ETW | BARALOKPUR | Baralokpur | बरालोकपुर | 26.8100 | 79.2900 | Bharthana
ETW | BAKEWAR | Bakewar | बकेवर | 26.6620 | 79.1780 | Bakewar
ETW | LAVEDI | Lavedi | लवेदी | 26.6900 | 79.0700 | Bakewar | Lawedi
ETW | CHAKARNAGAR | Chakarnagar | चकरनगर | 26.5800 | 79.1200 | Chakarnagar
ETW | SAHSON | Sahson | सहसों | 26.6300 | 79.0000 | Chakarnagar
ETW | BHAREH | Bhareh | भरेह | 26.5050 | 79.1900 | Chakarnagar

VNS | KOTWALI | Kotwali Varanasi | कोतवाली वाराणसी | 25.3225 | 83.0165 | Kotwali Varanasi
VNS | ADAMPUR | Adampur | आदमपुर | 25.3300 | 83.0280 | Kotwali Varanasi
VNS | JAITPURA | Jaitpura | जैतपुरा | 25.3300 | 83.0090 | Kotwali Varanasi
VNS | DASHASHWAMEDH | Dashashwamedh | दशाश्वमेध | 25.3080 | 83.0075 | Dashashwamedh |
    Dashaswamedh;Dasaswamedh
VNS | CHOWK | Chowk | चौक | 25.3145 | 83.0115 | Dashashwamedh | Chauk
VNS | LUXA | Luxa | लक्सा | 25.3030 | 83.0000 | Dashashwamedh | Laksa
VNS | CHETGANJ | Chetganj | चेतगंज | 25.3150 | 83.0030 | Chetganj
VNS | SIGRA | Sigra | सिगरा | 25.3160 | 82.9860 | Chetganj
VNS | BHELUPUR | Bhelupur | भेलूपुर | 25.2960 | 83.0000 | Bhelupur
VNS | LANKA | Lanka | लंका | 25.2780 | 83.0010 | Bhelupur
VNS | CHITAIPUR | Chitaipur | चितईपुर | 25.2700 | 82.9830 | Bhelupur
VNS | MANDUADIH | Manduadih | मंडुवाडीह | 25.2950 | 82.9700 | Bhelupur
VNS | RAMNAGAR | Ramnagar | रामनगर | 25.2700 | 83.0270 | Bhelupur
VNS | CANTONMENT | Cantonment | कैंट | 25.3330 | 82.9870 | Cantonment Varanasi |
    Cantt;Varanasi Cantt
VNS | SHIVPUR | Shivpur | शिवपुर | 25.3570 | 82.9630 | Cantonment Varanasi
VNS | LOHTA | Lohta | लोहता | 25.3150 | 82.9200 | Cantonment Varanasi
VNS | SARNATH | Sarnath | सारनाथ | 25.3780 | 83.0240 | Sarnath
VNS | CHOLAPUR | Cholapur | चोलापुर | 25.4550 | 83.0400 | Sarnath
VNS | CHAUBEYPUR | Chaubeypur | चौबेपुर | 25.4550 | 83.1000 | Sarnath
VNS | ROHANIA | Rohania | रोहनिया | 25.2600 | 82.9250 | Rajatalab
VNS | MIRZAMURAD | Mirzamurad | मिर्जामुराद | 25.2450 | 82.8450 | Rajatalab
VNS | JANSA | Jansa | जंसा | 25.3100 | 82.8350 | Rajatalab
VNS | KAPSETHI | Kapsethi | कपसेठी | 25.2750 | 82.7650 | Rajatalab
VNS | PHOOLPUR | Phoolpur | फूलपुर | 25.5350 | 82.8650 | Pindra | Phulpur
VNS | BARAGAON | Baragaon | बड़ागांव | 25.4100 | 82.7900 | Pindra | Badagaon

JNP | KOTWALI | Kotwali Jaunpur | कोतवाली जौनपुर | 25.7590 | 82.6900 | City Jaunpur
JNP | LINE-BAZAR | Line Bazar | लाइन बाजार | 25.7400 | 82.6750 | City Jaunpur
JNP | ZAFARABAD | Zafarabad | जफराबाद | 25.7000 | 82.7400 | City Jaunpur
JNP | SARAI-KHWAJA | Sarai Khwaja | सराय ख्वाजा | 25.8400 | 82.7000 | Sadar Jaunpur
JNP | BAKSHA | Baksha | बक्शा | 25.8100 | 82.5600 | Sadar Jaunpur
JNP | SIKRARA | Sikrara | सिकरारा | 25.7000 | 82.5700 | Sadar Jaunpur
JNP | JALALPUR | Jalalpur | जलालपुर | 25.6150 | 82.7500 | Sadar Jaunpur
JNP | KERAKAT | Kerakat | केराकत | 25.6410 | 82.9180 | Kerakat
JNP | CHANDWAK | Chandwak | चंदवक | 25.5850 | 83.0300 | Kerakat
JNP | GAURA-BADSHAHPUR | Gaura Badshahpur | गौराबादशाहपुर | 25.7400 | 82.8300 | Kerakat |
    Gaurabadshahpur
JNP | MACHHLISHAHR | Machhlishahr | मछलीशहर | 25.6790 | 82.4160 | Machhlishahr
JNP | MUNGRA-BADSHAHPUR | Mungra Badshahpur | मुंगराबादशाहपुर | 25.6500 | 82.1900 | Machhlishahr |
    Mungrabadshahpur
JNP | NEWDHIYA | Newdhiya | नेवढ़िया | 25.6400 | 82.5200 | Machhlishahr | Nevadhiya
JNP | MARIAHU | Mariahu | मड़ियाहूं | 25.6070 | 82.6040 | Mariahu |
    Madiyahu;Madiyahun;Mariyahu
JNP | RAMPUR | Rampur | रामपुर | 25.5000 | 82.6200 | Mariahu
JNP | BADLAPUR | Badlapur | बदलापुर | 25.8880 | 82.4570 | Badlapur
JNP | SUJANGANJ | Sujanganj | सुजानगंज | 25.7900 | 82.3300 | Badlapur
JNP | SHAHGANJ | Shahganj | शाहगंज | 26.0520 | 82.6930 | Shahganj
JNP | KHUTAHAN | Khutahan | खुटहन | 26.1400 | 82.5800 | Shahganj
JNP | KHETASARAI | Khetasarai | खेतासराय | 25.9600 | 82.6650 | Shahganj

GZP | KOTWALI | Kotwali Ghazipur | कोतवाली गाजीपुर | 25.5820 | 83.5800 | City Ghazipur
GZP | KARANDA | Karanda | करंडा | 25.4900 | 83.4700 | City Ghazipur
GZP | NONAHARA | Nonahara | नोनहरा | 25.6500 | 83.4700 | City Ghazipur
GZP | BIRNO | Birno | बिरनो | 25.6800 | 83.5300 | City Ghazipur
GZP | SAIDPUR | Saidpur | सैदपुर | 25.5410 | 83.2230 | Saidpur
GZP | KHANPUR | Khanpur | खानपुर | 25.5700 | 83.1300 | Saidpur
GZP | SHADIABAD | Shadiabad | शादियाबाद | 25.6200 | 83.2700 | Saidpur
GZP | NANDGANJ | Nandganj | नंदगंज | 25.5550 | 83.4200 | Saidpur
GZP | SADAT | Sadat | सादात | 25.6800 | 83.2950 | Jakhania
GZP | BAHARIYABAD | Bahariyabad | बहरियाबाद | 25.6800 | 83.4000 | Jakhania
GZP | BHUDKUDA | Bhudkuda | भुड़कुड़ा | 25.7500 | 83.3700 | Jakhania
GZP | DULLAHPUR | Dullahpur | दुल्लहपुर | 25.7700 | 83.4800 | Jakhania
GZP | MARDA | Marda | मरदह | 25.7400 | 83.5700 | Kasimabad | Mardah
GZP | KASIMABAD | Kasimabad | कासिमाबाद | 25.7700 | 83.7200 | Kasimabad
GZP | MOHAMMADABAD | Mohammadabad | मोहम्मदाबाद | 25.6160 | 83.7510 | Mohammadabad |
    Muhammadabad;Mohammadabad Yusufpur
GZP | BHANWARKOL | Bhanwarkol | भांवरकोल | 25.6700 | 83.8400 | Mohammadabad
GZP | ZAMANIA | Zamania | जमानियां | 25.4240 | 83.5590 | Zamania
GZP | DILDARNAGAR | Dildarnagar | दिलदारनगर | 25.4270 | 83.6680 | Zamania
GZP | SUHWAL | Suhwal | सुहवल | 25.4900 | 83.6300 | Zamania
GZP | GAHMAR | Gahmar | गहमर | 25.4970 | 83.8220 | Sevrai
GZP | REOTIPUR | Reotipur | रेवतीपुर | 25.5400 | 83.7200 | Sevrai

CDL | CHANDAULI | Chandauli | चंदौली | 25.2590 | 83.2690 | Sadar Chandauli
CDL | DHINA | Dhina | धीना | 25.3400 | 83.3500 | Sadar Chandauli
CDL | SAIYADRAJA | Saiyadraja | सैयदराजा | 25.2900 | 83.4200 | Sadar Chandauli |
    Sayyadraja;Syedraja
CDL | KANDWA | Kandwa | कंदवा | 25.3000 | 83.4900 | Sadar Chandauli
CDL | MUGHALSARAI | Mughalsarai | मुगलसराय | 25.2800 | 83.1180 | Mughalsarai |
    Mughal Sarai;Pt. Deen Dayal Upadhyaya Nagar;DDU Nagar
CDL | ALINAGAR | Alinagar | अलीनगर | 25.3050 | 83.0950 | Mughalsarai
CDL | SAKALDIHA | Sakaldiha | सकलडीहा | 25.3520 | 83.2630 | Sakaldiha
CDL | BALUA | Balua | बलुआ | 25.4400 | 83.2000 | Sakaldiha
CDL | DHANAPUR | Dhanapur | धानापुर | 25.4600 | 83.3700 | Sakaldiha
CDL | CHAKIA | Chakia | चकिया | 25.0520 | 83.2170 | Chakia
CDL | SHAHABGANJ | Shahabganj | शहाबगंज | 25.1200 | 83.3200 | Chakia
CDL | ILIYA | Iliya | इलिया | 25.1700 | 83.2500 | Chakia | Ilia
CDL | NAUGARH | Naugarh | नौगढ़ | 24.8200 | 83.2700 | Naugarh
CDL | CHAKARGHATTA | Chakarghatta | चकरघट्टा | 24.7600 | 83.2200 | Naugarh
"""

# Gazetteer places other than station towns, one a line:
# district code | kind | name | name_hi | lat | lon | aliases (';'-separated, optional).
PLACE_TABLE = """
ETW | district_hq | Etawah | इटावा | 26.7770 | 79.0240 | Etawah city;Itawa
ETW | landmark | UP University of Medical Sciences | उ.प्र. आयुर्विज्ञान वि.वि. | 26.9450 | 78.9530 |
    UPUMS;Saifai Medical College;Saifai Medical University;RIMS Saifai;Saifai PGI
ETW | landmark | Etawah Safari Park | इटावा सफारी पार्क | 26.7800 | 78.9900 |
    Lion Safari Etawah;Etawah Lion Safari;Safari Park
ETW | landmark | Etawah Junction | इटावा जंक्शन | 26.7860 | 79.0220 |
    Etawah railway station;Etawah station
ETW | landmark | Sumer Singh Fort | सुमेर सिंह किला | 26.7680 | 79.0250 |
    Etawah Fort;Sumer Singh Qila
ETW | landmark | Pakka Talab | पक्का तालाब | 26.7790 | 79.0180 | Pakka Talaab
ETW | landmark | Yamuna Ghat Etawah | यमुना घाट इटावा | 26.7620 | 79.0300 |
    Yamuna ghat;Etawah ghat
ETW | landmark | Chambal Ghat Sahson | चंबल घाट सहसों | 26.6100 | 79.0100 |
    Chambal ghat;Chambal river;National Chambal Sanctuary
ETW | landmark | Pachnada | पचनदा | 26.4900 | 79.2200 |
    Panchnada;Pachnada confluence;Chambal Yamuna sangam
ETW | landmark | Bhareh Fort | भरेह किला | 26.5000 | 79.1850 | Bhareh Qila
ETW | landmark | Sarsai Nawar Wetland | सरसई नावर झील | 26.9650 | 79.2500 |
    Sarsai Nawar;Sarsai Nawar Jheel
ETW | landmark | Kali Vahan Temple Lakhna | काली वाहन मंदिर लखना | 26.6480 | 79.1500 |
    Kali Vahan Mandir;Lakhna Devi temple
ETW | landmark | Jaswantnagar Ramlila Maidan | जसवंतनगर रामलीला मैदान | 26.8835 | 78.9150 |
    Jaswantnagar Ramlila;Ramlila ground Jaswantnagar
ETW | landmark | Jaswantnagar Railway Station | जसवंतनगर रेलवे स्टेशन | 26.8760 | 78.9000 |
    Jaswantnagar station
ETW | village | Lakhna | लखना | 26.6450 | 79.1500 | Lakhna town
ETW | village | Balrai | बलरई | 26.9100 | 78.8300
ETW | village | Mahewa | महेवा | 26.6900 | 79.2500
ETW | village | Takha | ताखा | 26.8500 | 79.2600
ETW | village | Udi | उदी | 26.7300 | 79.0050 | Udi Mod;Udi crossing

VNS | district_hq | Varanasi | वाराणसी | 25.3180 | 82.9990 |
    Banaras;Benares;Kashi;Varanasi city;Banaras city
VNS | landmark | Kashi Vishwanath Temple | काशी विश्वनाथ मंदिर | 25.3109 | 83.0107 |
    Kashi Vishwanath;Vishwanath Mandir;Kashi Vishwanath Dham;Vishwanath Corridor
    Golden Temple Varanasi
VNS | landmark | Dashashwamedh Ghat | दशाश्वमेध घाट | 25.3068 | 83.0104 |
    Dasaswamedh Ghat;Dashaswamedh Ghat
VNS | landmark | Assi Ghat | अस्सी घाट | 25.2897 | 83.0064 | Assi
VNS | landmark | Manikarnika Ghat | मणिकर्णिका घाट | 25.3116 | 83.0143 |
    Manikarnika;Burning ghat
VNS | landmark | Harishchandra Ghat | हरिश्चंद्र घाट | 25.2980 | 83.0090
VNS | landmark | Panchganga Ghat | पंचगंगा घाट | 25.3190 | 83.0180
VNS | landmark | Raj Ghat | राजघाट | 25.3220 | 83.0350 | Rajghat;Malviya Bridge
VNS | landmark | Banaras Hindu University | काशी हिन्दू विश्वविद्यालय | 25.2677 | 82.9980 |
    BHU;BHU campus;Kashi Hindu Vishwavidyalaya
VNS | landmark | Sir Sunderlal Hospital | सर सुंदरलाल अस्पताल | 25.2750 | 82.9970 |
    BHU hospital;SS Hospital BHU
VNS | landmark | Sankat Mochan Temple | संकट मोचन मंदिर | 25.2815 | 82.9983 |
    Sankat Mochan;Sankat Mochan Hanuman Mandir
VNS | landmark | Durga Kund | दुर्गा कुंड | 25.2889 | 82.9990 | Durga Mandir
VNS | landmark | Tulsi Manas Mandir | तुलसी मानस मंदिर | 25.2870 | 82.9995
VNS | landmark | Dhamek Stupa | धमेख स्तूप | 25.3811 | 83.0263 |
    Sarnath stupa;Sarnath ruins;Deer Park Sarnath
VNS | landmark | Varanasi Junction | वाराणसी जंक्शन | 25.3276 | 82.9870 |
    Varanasi Cantt station;Cantt railway station;Varanasi railway station
VNS | landmark | Banaras Railway Station | बनारस रेलवे स्टेशन | 25.2930 | 82.9680 |
    Manduadih station;Banaras station
VNS | landmark | Kashi Railway Station | काशी रेलवे स्टेशन | 25.3260 | 83.0320
VNS | landmark | Lal Bahadur Shastri Airport | लाल बहादुर शास्त्री हवाई अड्डा | 25.4524 | 82.8593 |
    Varanasi airport;Babatpur airport;LBS airport
VNS | landmark | Ramnagar Fort | रामनगर किला | 25.2795 | 83.0267 |
    Ramnagar Qila;Kashi Naresh fort
VNS | landmark | Banaras Locomotive Works | बनारस रेल इंजन कारखाना | 25.2870 | 82.9650 |
    BLW;DLW;Diesel Locomotive Works
VNS | landmark | Markandey Mahadev Temple | मार्कंडेय महादेव मंदिर | 25.4920 | 83.1400 |
    Markandey Mahadev;Kaithi temple
VNS | landmark | Godowlia | गोदौलिया | 25.3090 | 83.0060 | Godaulia
VNS | landmark | Lahurabir | लहुराबीर | 25.3200 | 83.0045
VNS | landmark | Maidagin | मैदागिन | 25.3220 | 83.0140
VNS | landmark | Nadesar | नदेसर | 25.3350 | 82.9900
VNS | landmark | Pandeypur | पांडेयपुर | 25.3460 | 82.9960
VNS | village | Mohansarai | मोहनसराय | 25.2620 | 82.9550 | Mohan Sarai
VNS | village | Rajatalab | राजातालाब | 25.2450 | 82.8720 | Raja Talab
VNS | village | Pindra | पिंडरा | 25.4960 | 82.8380
VNS | village | Babatpur | बाबतपुर | 25.4480 | 82.8700
VNS | village | Chiraigaon | चिरईगांव | 25.3750 | 83.0600
VNS | village | Kaithi | कैथी | 25.4900 | 83.1350

JNP | district_hq | Jaunpur | जौनपुर | 25.7530 | 82.6850 | Jaunpur city
JNP | landmark | Shahi Qila | शाही किला | 25.7580 | 82.6860 |
    Shahi Quila;Jaunpur Fort;Firoz Shah Fort
JNP | landmark | Shahi Bridge | शाही पुल | 25.7540 | 82.6870 |
    Shahi Pul;Akbari Bridge;Munim Khan bridge
JNP | landmark | Atala Masjid | अटाला मस्जिद | 25.7620 | 82.6870 | Atala Mosque
JNP | landmark | Jama Masjid Jaunpur | जामा मस्जिद जौनपुर | 25.7630 | 82.6925 |
    Badi Masjid;Jami Masjid Jaunpur
JNP | landmark | Jaunpur Junction | जौनपुर जंक्शन | 25.7330 | 82.6650 |
    Jaunpur railway station;Bhandari station
JNP | landmark | Jaunpur City Station | जौनपुर सिटी स्टेशन | 25.7600 | 82.6980
JNP | landmark | Sheetla Chaukiya Dham | शीतला चौकिया धाम | 25.7750 | 82.6720 |
    Chaukiya Dham;Sheetla Mata Mandir Chaukiya
JNP | landmark | Trilochan Mahadev Temple | त्रिलोचन महादेव मंदिर | 25.5900 | 82.7800 |
    Trilochan Mahadev
JNP | village | Muftiganj | मुफ्तीगंज | 25.6700 | 82.8200
JNP | village | Barsathi | बरसठी | 25.6100 | 82.2900
JNP | village | Maharajganj | महाराजगंज | 25.9700 | 82.4600 | Maharajganj Jaunpur
JNP | village | Sirkoni | सिरकोनी | 25.6700 | 82.7700
JNP | village | Dharmapur | धर्मापुर | 25.8000 | 82.7300

GZP | district_hq | Ghazipur | गाजीपुर | 25.5830 | 83.5770 | Gazipur;Ghazipur city
GZP | landmark | Lord Cornwallis Tomb | लॉर्ड कार्नवालिस का मकबरा | 25.5760 | 83.5660 |
    Cornwallis Tomb;Lord Cornwallis Memorial;Lat Sahab ka Makbara
GZP | landmark | Ghazipur City Railway Station | गाजीपुर सिटी रेलवे स्टेशन | 25.5850 | 83.5700 |
    Ghazipur City station;Ghazipur railway station
GZP | landmark | Government Opium Factory | अफीम कारखाना | 25.5800 | 83.6000 |
    Opium Factory Ghazipur;Afeem Kothi;Opium and Alkaloid Works
GZP | landmark | Kamakhya Dham Gahmar | कामाख्या धाम गहमर | 25.5000 | 83.8150 |
    Maa Kamakhya Mandir Gahmar;Kamakhya Dham
GZP | landmark | Bhitari Pillar | भितरी स्तंभ | 25.5700 | 83.2600 |
    Bhitari;Skandagupta pillar
GZP | landmark | Dildarnagar Junction | दिलदारनगर जंक्शन | 25.4250 | 83.6650 |
    Dildarnagar station
GZP | village | Yusufpur | यूसुफपुर | 25.6200 | 83.7600
GZP | village | Sherpur Kalan | शेरपुर कलां | 25.5900 | 83.8000 | Sherpur
GZP | village | Jakhania | जखनियां | 25.7390 | 83.3700 | Jakhaniya
GZP | village | Sevrai | सेवराई | 25.5200 | 83.7200 | Sewrai
GZP | village | Tarighat | ताड़ीघाट | 25.5620 | 83.5750 | Tari Ghat

CDL | district_hq | Chandauli | चंदौली | 25.2600 | 83.2680 | Chandauli town
CDL | landmark | Mughalsarai Junction | पं. दीनदयाल उपाध्याय जंक्शन | 25.2827 | 83.1207 |
    Mughalsarai;Mughal Sarai;Pt. Deen Dayal Upadhyaya Nagar;Pt Deen Dayal Upadhyay Nagar
    DDU Nagar;DDU Junction
CDL | landmark | Chandraprabha Wildlife Sanctuary | चंद्रप्रभा वन्यजीव विहार | 24.9600 | 83.2300 |
    Chandraprabha Sanctuary;Chandra Prabha forest
CDL | landmark | Rajdari Falls | राजदरी जलप्रपात | 24.9900 | 83.2350 | Rajdari waterfall
CDL | landmark | Devdari Falls | देवदरी जलप्रपात | 24.9750 | 83.2450 | Devdari waterfall
CDL | landmark | Latif Shah Dam | लतीफ शाह बांध | 25.0400 | 83.2000 |
    Latif Shah barrage;Latifshah
CDL | landmark | Naugarh Fort | नौगढ़ किला | 24.8250 | 83.2700 | Naugarh Qila
CDL | landmark | Balua Ghat | बलुआ घाट | 25.4450 | 83.2050 | Paschim Vahini Ganga Balua
CDL | landmark | Chandauli Majhwar Station | चंदौली मझवार स्टेशन | 25.2650 | 83.2700 |
    Chandauli railway station
CDL | village | Kamalpur | कमालपुर | 25.3400 | 83.3900
CDL | village | Ramgarh | रामगढ़ | 25.4000 | 83.2700 | Baba Kinaram birthplace
"""


# Points the service's tests and demo rely on: (lat, lon, expected station id or district).
REQUIRED_STATIONS = (
    (26.8860, 78.9128, "ETW-JASWANTNAGAR"),
    (25.2830, 83.1190, "CDL-MUGHALSARAI"),
)
REQUIRED_DISTRICTS = ((25.3060, 83.0100, "Varanasi"),)


def table_rows(table: str, width: int) -> list[list[str]]:
    """Split a ``|``-separated table into rows of ``width`` fields (the last may be empty)."""
    rows: list[list[str]] = []
    for line in table.splitlines():
        if not line.strip():
            continue
        if line.startswith(" "):
            rows[-1][-1] = ";".join(a for a in (rows[-1][-1], line.strip()) if a)
            continue
        fields = [f.strip() for f in line.split("|")]
        fields += [""] * (width - len(fields))
        assert len(fields) == width, f"bad table line: {line!r}"
        rows.append(fields)
    return rows


def aliases_of(field: str) -> tuple[str, ...]:
    """The ``;``-separated aliases of a table field."""
    return tuple(a.strip() for a in field.split(";") if a.strip())


def district_by_code(code: str) -> District:
    """The district with the short code ``code`` (e.g. ``ETW``)."""
    return next(d for d in DISTRICTS if d.code == code)


def district_by_name(name: str) -> District:
    """The district called ``name``."""
    return next(d for d in DISTRICTS if d.name == name)


def parse_stations(table: str) -> tuple[Station, ...]:
    """The stations of ``STATION_TABLE``."""
    return tuple(
        Station(
            id=f"{code}-{slug}",
            name=name,
            name_hi=name_hi,
            lat=float(lat),
            lon=float(lon),
            circle=circle,
            district=district_by_code(code).name,
            aliases=aliases_of(aliases),
        )
        for code, slug, name, name_hi, lat, lon, circle, aliases in table_rows(table, 8)
    )


def parse_places(table: str) -> tuple[Place, ...]:
    """The places of ``PLACE_TABLE``."""
    return tuple(
        Place(
            name=name,
            name_hi=name_hi,
            aliases=aliases_of(aliases),
            lat=float(lat),
            lon=float(lon),
            kind=kind,
            district=district_by_code(code).name,
        )
        for code, kind, name, name_hi, lat, lon, aliases in table_rows(table, 7)
    )


STATIONS = parse_stations(STATION_TABLE)
PLACES = parse_places(PLACE_TABLE)


def district_outline(district: District) -> Polygon:
    """The simplified outline of a district as a valid polygon."""
    polygon = Polygon([VERTICES[key] for key in district.outline])
    assert polygon.is_valid, f"outline of {district.name} is invalid"
    return polygon


def km2(geom: BaseGeometry) -> float:
    """Approximate area in km² (equirectangular at the geometry's latitude)."""
    return float(geom.area * KM_PER_DEG_LAT**2 * math.cos(math.radians(geom.centroid.y)))


def voronoi_cells(stations: list[Station], area: Polygon) -> dict[str, BaseGeometry]:
    """Each station's Voronoi cell among ``stations``, clipped to ``area``."""
    points = MultiPoint([(s.lon, s.lat) for s in stations])
    diagram = shapely.voronoi_polygons(points, extend_to=area.buffer(0.5), ordered=True)
    cells = {s.id: cell.intersection(area) for s, cell in zip(stations, diagram.geoms, strict=True)}
    return reattach_detached_parts(cells, {s.id: Point(s.lon, s.lat) for s in stations})


def parts_of(geom: BaseGeometry) -> list[BaseGeometry]:
    """The polygons of a Polygon or MultiPolygon."""
    return list(getattr(geom, "geoms", [geom]))


def reattach_detached_parts(
    cells: dict[str, BaseGeometry], seeds: dict[str, Point]
) -> dict[str, BaseGeometry]:
    """Give every piece of a cell cut off from its station to the neighbour it borders most.

    Clipping a convex cell to a concave outline can leave a piece that does not touch the
    station; an area in two pieces would send an officer across another station's ground.
    """
    cells = dict(cells)
    for sid in list(cells):
        parts = parts_of(cells[sid])
        if len(parts) == 1:
            continue
        home = next((p for p in parts if p.covers(seeds[sid])), max(parts, key=lambda p: p.area))
        cells[sid] = home
        for part in parts:
            if part is home:
                continue
            neighbour = max(
                (other for other in cells if other != sid),
                key=lambda other: part.boundary.intersection(cells[other].boundary).length,
            )
            cells[neighbour] = shapely.union(cells[neighbour], part)
    return cells


def noded(cells: dict[str, BaseGeometry]) -> dict[str, BaseGeometry]:
    """Rebuild the cells on a 1 m grid from their common linework, so neighbours share edges.

    Cells of two districts meet along a district border that each side cut at different
    points; rounding each cell alone would open hairline gaps and overlaps there.
    """
    boundaries = [shapely.boundary(c) for c in cells.values()]
    lines = shapely.union_all(boundaries, grid_size=PRECISION)
    owned: dict[str, list[BaseGeometry]] = defaultdict(list)
    for face in parts_of(shapely.polygonize(parts_of(lines))):
        owner = max(cells, key=lambda sid: cells[sid].intersection(face).area)
        owned[owner].append(face)
    return {sid: shapely.union_all(owned[sid], grid_size=PRECISION) for sid in cells}


def build_areas() -> dict[str, BaseGeometry]:
    """Station id -> station area, for every station."""
    areas: dict[str, BaseGeometry] = {}
    for group in sorted({d.group for d in DISTRICTS}):
        group_cells: dict[str, BaseGeometry] = {}
        for district in (d for d in DISTRICTS if d.group == group):
            stations = [s for s in STATIONS if s.district == district.name]
            group_cells.update(voronoi_cells(stations, district_outline(district)))
        areas.update(noded(group_cells))
    return {sid: shapely.orient_polygons(g, exterior_cw=False) for sid, g in areas.items()}


def round_coords(value: Any) -> Any:
    """Round nested GeoJSON coordinates to 5 decimals."""
    if isinstance(value, float):
        return round(value, 5)
    return [round_coords(v) for v in value]


def feature(station: Station, geom: BaseGeometry) -> dict[str, Any]:
    """The GeoJSON feature for one station area."""
    district = district_by_name(station.district)
    geometry = mapping(geom)
    return {
        "type": "Feature",
        "properties": {
            "id": station.id,
            "name": station.name,
            "name_hi": station.name_hi,
            "district": district.name,
            "circle": station.circle,
            "range": district.range,
            "zone": district.zone,
            "approximate": True,
        },
        "geometry": {
            "type": geometry["type"],
            "coordinates": round_coords(geometry["coordinates"]),
        },
    }


def locate(areas: dict[str, BaseGeometry], lat: float, lon: float) -> str | None:
    """The id of the station whose area covers the point, if any."""
    point = Point(lon, lat)
    return next((sid for sid, geom in areas.items() if geom.covers(point)), None)


def gazetteer_rows(areas: dict[str, BaseGeometry]) -> list[dict[str, str]]:
    """Every station town and place, tagged with the station area that holds it."""
    towns = [
        Place(s.name, s.name_hi, s.aliases, s.lat, s.lon, "station_town", s.district)
        for s in STATIONS
    ]
    return [place_row(areas, place) for place in (*towns, *PLACES)]


def place_row(areas: dict[str, BaseGeometry], place: Place) -> dict[str, str]:
    """One gazetteer row; fails if the point is outside every station area or its district."""
    assert place.kind in KINDS, place.kind
    sid = locate(areas, place.lat, place.lon)
    assert sid is not None, f"{place.name} ({place.lat}, {place.lon}) is outside every area"
    code = district_by_name(place.district).code
    assert sid.startswith(code + "-"), f"{place.name} ({place.district}) falls in {sid}"
    return {
        "name": place.name,
        "name_hi": place.name_hi,
        "aliases": ";".join(place.aliases),
        "lat": f"{place.lat:.5f}",
        "lon": f"{place.lon:.5f}",
        "kind": place.kind,
        "district": place.district,
        "station_id": sid,
    }


def check(areas: dict[str, BaseGeometry]) -> None:
    """Fail loudly on invalid, overlapping or splintered areas, or a misplaced station."""
    ids = [s.id for s in STATIONS]
    assert len(set(ids)) == len(ids), "duplicate station ids"
    circles: dict[str, set[str]] = defaultdict(set)
    for s in STATIONS:
        circles[s.circle].add(s.district)
    shared = {c: d for c, d in circles.items() if len(d) > 1}
    assert not shared, f"circle names used in several districts: {shared}"
    geoms = [areas[sid] for sid in ids]
    assert all(shapely.is_valid(geoms)), "invalid station area"
    # Edges of neighbouring areas must match vertex for vertex (no hairline gaps or overlaps).
    assert shapely.coverage_is_valid(geoms), "station areas do not form a clean coverage"
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    for i, j in zip(left, right, strict=True):
        if i < j:
            overlap = km2(geoms[i].intersection(geoms[j])) if geoms[i].overlaps(geoms[j]) else 0.0
            assert overlap < 1e-6, f"{ids[i]} and {ids[j]} overlap by {overlap:.6f} km²"
    for sid, geom in zip(ids, geoms, strict=True):
        for part in parts_of(geom):
            assert km2(part) > MIN_PART_KM2, f"sliver in {sid}: {km2(part):.4f} km²"
    for s in STATIONS:
        assert locate(areas, s.lat, s.lon) == s.id, f"{s.name} is outside its own area"
    for lat, lon, expected in REQUIRED_STATIONS:
        assert locate(areas, lat, lon) == expected, f"({lat}, {lon}) is not in {expected}"
    for lat, lon, district in REQUIRED_DISTRICTS:
        found = locate(areas, lat, lon)
        code = district_by_name(district).code
        assert found is not None and found.startswith(code + "-"), (
            f"({lat}, {lon}) not in {district}"
        )


def report(areas: dict[str, BaseGeometry]) -> None:
    """Print stations, circles and area ranges per district."""
    for district in DISTRICTS:
        stations = [s for s in STATIONS if s.district == district.name]
        sizes = sorted((km2(areas[s.id]), s.name) for s in stations)
        total = sum(size for size, _ in sizes)
        (small, small_name), (large, large_name) = sizes[0], sizes[-1]
        print(
            f"{district.name}: {len(stations)} stations, {total:,.0f} km² in all, "
            f"smallest {small_name} {small:.1f} km², largest {large_name} {large:.0f} km²"
        )
        circles = Counter(s.circle for s in stations)
        print("  circles: " + ", ".join(f"{c} ({n})" for c, n in circles.items()))


def main() -> None:
    """Build the areas, check them, write both files and print a summary."""
    areas = build_areas()
    check(areas)
    collection = {
        "type": "FeatureCollection",
        "features": [feature(s, areas[s.id]) for s in STATIONS],
    }
    JURISDICTIONS_PATH.parent.mkdir(parents=True, exist_ok=True)
    with JURISDICTIONS_PATH.open("w", encoding="utf-8") as f:
        json.dump(collection, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    # Check the rounded file as written, not only the shapes in memory.
    written = {
        feat["properties"]["id"]: shape(feat["geometry"])
        for feat in json.loads(JURISDICTIONS_PATH.read_text(encoding="utf-8"))["features"]
    }
    check(written)
    rows = gazetteer_rows(written)
    with GAZETTEER_PATH.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=GAZETTEER_HEADER, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    report(written)
    print(f"wrote {len(STATIONS)} station areas to {JURISDICTIONS_PATH.relative_to(REPO)}")
    print(f"wrote {len(rows)} gazetteer rows to {GAZETTEER_PATH.relative_to(REPO)}")


if __name__ == "__main__":
    main()
