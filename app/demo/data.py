"""Demo vehicles: valid VINs (check digit computed), plausible Chinese-market cars."""

from __future__ import annotations

from dataclasses import dataclass

from chaincode.mortgage.vin import with_check_digit


def demo_vin(serial: int, wmi: str = "LSV", vds: str = "AU2A3") -> str:
    """A China-region VIN (check digit verified there): WMI + VDS + check + year N + plant + serial."""
    return with_check_digit(f"{wmi}{vds}0N2{serial:06d}")


@dataclass(frozen=True, slots=True)
class DemoVehicle:
    vin: str
    plate: str
    make: str
    model: str
    trim: str
    year: int
    new_price: str
    owner_name: str
    owner_id: str


VEHICLES: tuple[DemoVehicle, ...] = (
    DemoVehicle(demo_vin(100001), "京A10001", "BYD", "Han", "EV 610km", 2022, "259800.00", "Li Wei",
                "110101199003071234"),
    DemoVehicle(demo_vin(100002, "LFV", "BA2A1"), "沪B20002", "Volkswagen", "Passat", "330TSI", 2022,
                "219900.00", "Wang Fang", "310101198805152345"),
    DemoVehicle(demo_vin(100003, "LGB", "C4E25"), "粤C30003", "Nissan", "Sylphy", "1.6 CVT", 2022,
                "129900.00", "Zhang Min", "440101199212083456"),
)  # fmt: skip
