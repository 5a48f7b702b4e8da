"""Static geography of the simulated network: provinces, towns, motorways, LEZs.

Coordinates are town centres (WGS84, rounded). Police zones are named after the
towns they serve; motorway cameras belong to the federal highway police. The
three low-emission zones are Brussels (the whole Region: ``BXL``), Antwerp
(``ANT``) and Ghent (``GNT``); only cameras in their towns can enforce them.
"""

from __future__ import annotations

from typing import NamedTuple

LEZ_ZONES = ("BXL", "ANT", "GNT")

PROVINCES = {
    "BRU": "Brussels-Capital Region",
    "ANT": "Antwerpen",
    "OVL": "Oost-Vlaanderen",
    "WVL": "West-Vlaanderen",
    "VBR": "Vlaams-Brabant",
    "LIM": "Limburg",
    "WBR": "Brabant wallon",
    "HAI": "Hainaut",
    "LIE": "Liège",
    "LUX": "Luxembourg",
    "NAM": "Namur",
}


class Town(NamedTuple):
    name: str
    province: str      # a key of PROVINCES
    lat: float
    lon: float
    weight: float      # share of cameras and of the vehicles living there
    police_zone: str
    lez: str | None    # the LEZ covering the town, if any
    lez_share: float = 0.0  # share of its cameras that enforce the LEZ


TOWNS = (
    Town("Brussel", "BRU", 50.8467, 4.3525, 6, "PZ Brussel-Hoofdstad Elsene", "BXL", 0.6),
    Town("Elsene", "BRU", 50.8333, 4.3667, 2.5, "PZ Brussel-Hoofdstad Elsene", "BXL", 0.6),
    Town("Anderlecht", "BRU", 50.8390, 4.3090, 3, "ZP Midi", "BXL", 0.6),
    Town("Schaerbeek", "BRU", 50.8676, 4.3737, 3, "ZP Nord", "BXL", 0.6),
    Town("Uccle", "BRU", 50.8020, 4.3380, 2, "ZP Marlow", "BXL", 0.6),
    Town("Molenbeek", "BRU", 50.8550, 4.3220, 2, "ZP Bruxelles-Ouest", "BXL", 0.6),
    Town("Woluwe", "BRU", 50.8420, 4.4200, 2, "ZP Montgomery", "BXL", 0.6),
    Town("Antwerpen", "ANT", 51.2194, 4.4025, 8, "PZ Antwerpen", "ANT", 0.5),
    Town("Mechelen", "ANT", 51.0259, 4.4776, 3, "PZ Mechelen-Willebroek", None),
    Town("Turnhout", "ANT", 51.3227, 4.9447, 2, "PZ Turnhout", None),
    Town("Lier", "ANT", 51.1313, 4.5703, 1, "PZ Lier", None),
    Town("Geel", "ANT", 51.1619, 4.9907, 1, "PZ Geel", None),
    Town("Boom", "ANT", 51.0878, 4.3667, 1, "PZ Rupel", None),
    Town("Gent", "OVL", 51.0543, 3.7174, 6, "PZ Gent", "GNT", 0.5),
    Town("Aalst", "OVL", 50.9378, 4.0400, 2, "PZ Aalst", None),
    Town("Sint-Niklaas", "OVL", 51.1650, 4.1437, 2, "PZ Sint-Niklaas", None),
    Town("Dendermonde", "OVL", 51.0281, 4.1006, 1, "PZ Dendermonde", None),
    Town("Oudenaarde", "OVL", 50.8450, 3.6050, 1, "PZ Vlaamse Ardennen", None),
    Town("Eeklo", "OVL", 51.1870, 3.5560, 1, "PZ Meetjesland Centrum", None),
    Town("Brugge", "WVL", 51.2093, 3.2247, 3, "PZ Brugge", None),
    Town("Oostende", "WVL", 51.2154, 2.9287, 2, "PZ Oostende", None),
    Town("Kortrijk", "WVL", 50.8279, 3.2649, 3, "PZ Vlas", None),
    Town("Roeselare", "WVL", 50.9469, 3.1227, 1, "PZ Riho", None),
    Town("Ieper", "WVL", 50.8503, 2.8850, 1, "PZ Arro Ieper", None),
    Town("Leuven", "VBR", 50.8798, 4.7005, 3, "PZ Leuven", None),
    Town("Vilvoorde", "VBR", 50.9281, 4.4245, 2, "PZ Vilvoorde-Machelen", None),
    Town("Zaventem", "VBR", 50.8833, 4.4700, 2, "PZ Kastze", None),
    Town("Halle", "VBR", 50.7339, 4.2345, 1, "PZ Zennevallei", None),
    Town("Tienen", "VBR", 50.8070, 4.9380, 1, "PZ Tienen-Hoegaarden", None),
    Town("Aarschot", "VBR", 50.9850, 4.8370, 1, "PZ Aarschot", None),
    Town("Hasselt", "LIM", 50.9307, 5.3325, 3, "PZ Limburg Regio Hoofdstad", None),
    Town("Genk", "LIM", 50.9650, 5.5000, 2, "PZ Carma", None),
    Town("Sint-Truiden", "LIM", 50.8160, 5.1860, 1, "PZ Sint-Truiden", None),
    Town("Tongeren", "LIM", 50.7800, 5.4640, 1, "PZ Tongeren-Herstappe", None),
    Town("Maasmechelen", "LIM", 50.9650, 5.6950, 1, "PZ Lanaken-Maasmechelen", None),
    Town("Lommel", "LIM", 51.2300, 5.3130, 1, "PZ Lommel", None),
    Town("Wavre", "WBR", 50.7170, 4.6010, 1, "ZP Wavre", None),
    Town("Nivelles", "WBR", 50.5980, 4.3290, 1, "ZP Nivelles-Genappe", None),
    Town("Ottignies", "WBR", 50.6680, 4.6120, 1, "ZP Ottignies-Louvain-la-Neuve", None),
    Town("Waterloo", "WBR", 50.7150, 4.3990, 1, "ZP Waterloo", None),
    Town("Charleroi", "HAI", 50.4108, 4.4446, 4, "ZP Charleroi", None),
    Town("Mons", "HAI", 50.4542, 3.9523, 2, "ZP Mons-Quévy", None),
    Town("La Louvière", "HAI", 50.4800, 4.1860, 2, "ZP La Louvière", None),
    Town("Tournai", "HAI", 50.6060, 3.3880, 1, "ZP Tournaisis", None),
    Town("Mouscron", "HAI", 50.7440, 3.2140, 1, "ZP Mouscron", None),
    Town("Liège", "LIE", 50.6326, 5.5797, 4, "ZP Liège", None),
    Town("Seraing", "LIE", 50.5830, 5.5000, 1, "ZP Seraing-Neupré", None),
    Town("Verviers", "LIE", 50.5891, 5.8620, 1, "ZP Vesdre", None),
    Town("Eupen", "LIE", 50.6300, 6.0330, 1, "PZ Weser-Göhl", None),
    Town("Huy", "LIE", 50.5180, 5.2390, 1, "ZP Huy", None),
    Town("Namur", "NAM", 50.4674, 4.8720, 2, "ZP Namur Capitale", None),
    Town("Dinant", "NAM", 50.2610, 4.9120, 1, "ZP Haute-Meuse", None),
    Town("Gembloux", "NAM", 50.5610, 4.6990, 1, "ZP Orneau-Mehaigne", None),
    Town("Arlon", "LUX", 49.6830, 5.8160, 1, "ZP Arlon", None),
    Town("Bastogne", "LUX", 50.0030, 5.7190, 1, "ZP Centre Ardenne", None),
    Town("Marche-en-Famenne", "LUX", 50.2270, 5.3440, 1, "ZP Famenne-Ardenne", None),
)

TOWN_INDEX = {town.name: i for i, town in enumerate(TOWNS)}

HIGHWAY_POLICE = "Federale Wegpolitie"

# Motorways as chains of towns; cameras sit on the legs between them.
MOTORWAYS = {
    "E40": ("Oostende", "Brugge", "Gent", "Aalst", "Brussel", "Leuven", "Tienen", "Liège",
            "Verviers", "Eupen"),
    "E19": ("Antwerpen", "Mechelen", "Vilvoorde", "Brussel", "Halle", "Nivelles", "Mons"),
    "E17": ("Antwerpen", "Sint-Niklaas", "Gent", "Kortrijk", "Mouscron"),
    "E313": ("Antwerpen", "Lier", "Geel", "Hasselt", "Tongeren", "Liège"),
    "E411": ("Brussel", "Wavre", "Gembloux", "Namur", "Marche-en-Famenne", "Arlon"),
    "E42": ("Tournai", "Mons", "La Louvière", "Charleroi", "Namur", "Huy", "Liège", "Verviers"),
    "E34": ("Antwerpen", "Turnhout"),
    "E314": ("Leuven", "Aarschot", "Hasselt", "Genk", "Maasmechelen"),
    "E25": ("Liège", "Bastogne", "Arlon"),
    "R0": ("Vilvoorde", "Zaventem", "Waterloo", "Halle"),
}

# Where the vehicles of each country live or drive, by province.
HOME_PROVINCES = {
    "BE": None,  # by town weight everywhere
    "NL": {"ANT": 4, "LIM": 3, "OVL": 1, "BRU": 2, "VBR": 1},
    "FR": {"HAI": 4, "WVL": 3, "BRU": 2, "NAM": 1, "LUX": 0.5},
    "DE": {"LIE": 4, "BRU": 1, "LIM": 1, "LUX": 1},
    "LU": {"LUX": 5, "LIE": 1, "NAM": 1, "BRU": 1},
}
