"""Reference tables shipped with the engine: a vehicle catalogue and a regional correction table.

The catalogue feeds the synthetic market generator and demos; a model trained on a user's CSV
learns its own vocabulary (makes, models, trims, segments) from that data instead. The regional
table is prior knowledge (city tier and a price correction by region) used as model features for
any data set whose regions it names.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Trim:
    make: str
    model: str
    trim: str
    segment: str
    powertrain: str
    new_price: float  # list price in CNY


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name: str
    city_tier: int  # 1 = largest cities … 4 = smallest
    correction: float  # multiplicative used-price correction versus the national level
    lat: float
    lon: float


SEGMENTS: tuple[str, ...] = ("economy", "compact", "midsize", "suv", "luxury", "ev")
POWERTRAINS: tuple[str, ...] = ("petrol", "diesel", "hybrid", "phev", "ev")
TRANSMISSIONS: tuple[str, ...] = ("manual", "automatic")

_T = Trim
CATALOG: tuple[Trim, ...] = (
    _T("Geely", "Emgrand", "Standard", "economy", "petrol", 72_000),
    _T("Geely", "Emgrand", "Premium", "economy", "petrol", 86_000),
    _T("Geely", "Boyue", "Comfort", "suv", "petrol", 118_000),
    _T("Geely", "Boyue", "Flagship", "suv", "petrol", 142_000),
    _T("Toyota", "Corolla", "Pioneer", "compact", "petrol", 119_800),
    _T("Toyota", "Corolla", "Elite", "compact", "hybrid", 139_800),
    _T("Toyota", "Camry", "2.0G", "midsize", "petrol", 179_800),
    _T("Toyota", "Camry", "2.5HG", "midsize", "hybrid", 219_800),
    _T("Toyota", "RAV4", "2.0 CVT", "suv", "petrol", 175_800),
    _T("Toyota", "RAV4", "2.5 Hybrid", "suv", "hybrid", 225_800),
    _T("Volkswagen", "Lavida", "Comfortline", "compact", "petrol", 109_900),
    _T("Volkswagen", "Lavida", "Highline", "compact", "petrol", 129_900),
    _T("Volkswagen", "Passat", "330TSI", "midsize", "petrol", 189_900),
    _T("Volkswagen", "Passat", "380TSI", "midsize", "petrol", 229_900),
    _T("Volkswagen", "Tiguan", "330TSI 2WD", "suv", "petrol", 199_900),
    _T("Volkswagen", "Tiguan", "380TSI 4WD", "suv", "diesel", 259_900),
    _T("Honda", "Civic", "180TURBO", "compact", "petrol", 129_900),
    _T("Honda", "Accord", "260TURBO", "midsize", "petrol", 179_800),
    _T("Honda", "Accord", "e:PHEV", "midsize", "phev", 219_800),
    _T("Honda", "CR-V", "240TURBO", "suv", "petrol", 186_900),
    _T("BYD", "Qin PLUS", "DM-i 55km", "compact", "phev", 99_800),
    _T("BYD", "Qin PLUS", "DM-i 120km", "compact", "phev", 125_800),
    _T("BYD", "Han", "EV 506km", "ev", "ev", 209_800),
    _T("BYD", "Han", "EV 610km", "ev", "ev", 259_800),
    _T("BYD", "Song PLUS", "DM-i", "suv", "phev", 159_800),
    _T("Tesla", "Model 3", "RWD", "ev", "ev", 245_900),
    _T("Tesla", "Model 3", "Long Range", "ev", "ev", 285_900),
    _T("Tesla", "Model Y", "RWD", "ev", "ev", 263_900),
    _T("Tesla", "Model Y", "Long Range", "ev", "ev", 303_900),
    _T("BMW", "3 Series", "325Li", "luxury", "petrol", 339_900),
    _T("BMW", "3 Series", "330Li M Sport", "luxury", "petrol", 379_900),
    _T("BMW", "X3", "xDrive25i", "luxury", "petrol", 409_900),
    _T("Mercedes-Benz", "C-Class", "C200L", "luxury", "petrol", 329_900),
    _T("Mercedes-Benz", "C-Class", "C260L", "luxury", "petrol", 369_900),
    _T("Mercedes-Benz", "GLC", "GLC300L", "luxury", "petrol", 439_900),
)

_R = Region
REGIONS: tuple[Region, ...] = (
    _R("BJ", "Beijing", 1, 0.97, 39.904, 116.407),
    _R("SH", "Shanghai", 1, 0.98, 31.230, 121.474),
    _R("GZ", "Guangzhou", 1, 1.00, 23.129, 113.264),
    _R("SZ", "Shenzhen", 1, 0.99, 22.543, 114.058),
    _R("CD", "Chengdu", 2, 1.02, 30.573, 104.066),
    _R("HZ", "Hangzhou", 2, 1.01, 30.274, 120.155),
    _R("WH", "Wuhan", 2, 1.02, 30.593, 114.305),
    _R("XA", "Xi'an", 2, 1.03, 34.341, 108.940),
    _R("CS", "Changsha", 3, 1.03, 28.228, 112.939),
    _R("KM", "Kunming", 3, 1.04, 25.038, 102.718),
    _R("LZ", "Lanzhou", 4, 1.05, 36.061, 103.834),
    _R("UR", "Urumqi", 4, 1.06, 43.825, 87.617),
)

REGIONS_BY_CODE: dict[str, Region] = {r.code: r for r in REGIONS}
