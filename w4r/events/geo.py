"""Distances and "near me" searches on a spherical Earth, in Python and in SQL.

Finding events near a point is two steps: a cheap prefilter on latitude and longitude
ranges (``bounding_boxes`` -> ``in_boxes_sql``, which plain B-tree indexes can serve), then
the exact great-circle distance (``distance_sql``) to drop the corners and to sort.

Limits:

- The Earth is a sphere of the mean radius (IUGG, 6371.0088 km). Great-circle distances are
  within about 0.5% of the true (ellipsoidal, WGS 84) ones: plenty for "events within 50 km",
  not for surveying.
- Radii are at most ``MAX_RADIUS_KM``, well short of half the circumference, so a circle never
  wraps round onto itself.
- Boxes are exact for the spherical cap, padded by ``BOX_PADDING_DEGREES`` (about 0.1 mm) so
  that points on the circle itself are not lost to rounding. A circle reaching a pole gets one
  box spanning all longitudes; one crossing the antimeridian (+-180 degrees) gets two boxes.
- Coordinates are degrees (WGS 84 latitude and longitude, longitude in [-180, 180]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Double, and_, false, func, literal, or_

EARTH_RADIUS_KM: Final = 6371.0088
"""The IUGG mean radius of the Earth."""

MAX_RADIUS_KM: Final = 2000.0
"""The largest search radius accepted."""

BOX_PADDING_DEGREES: Final = 1e-9
"""Added on every side of a box against rounding (1e-9 degrees is about 0.1 mm)."""

_POLE_EPSILON: Final = 1e-12


# Named without the usual "Error" suffix: it reads as what it is, and callers know it so.
class InvalidPoint(ValueError):  # noqa: N818
    """A latitude/longitude pair that is not a point on Earth."""


def check_point(latitude: float, longitude: float) -> None:
    """Refuse a non-finite coordinate, a latitude outside [-90, 90] or a longitude outside
    [-180, 180] (degrees)."""
    if not math.isfinite(latitude) or not math.isfinite(longitude):
        raise InvalidPoint(
            f"Latitude and longitude must be finite numbers, not {latitude!r}, {longitude!r}."
        )
    if not -90.0 <= latitude <= 90.0:
        raise InvalidPoint(f"Latitude must be between -90 and 90 degrees, not {latitude!r}.")
    if not -180.0 <= longitude <= 180.0:
        raise InvalidPoint(f"Longitude must be between -180 and 180 degrees, not {longitude!r}.")


def check_radius(radius_km: float) -> None:
    """Refuse a search radius that is not finite, not positive or above ``MAX_RADIUS_KM``."""
    if not math.isfinite(radius_km) or not 0.0 < radius_km <= MAX_RADIUS_KM:
        raise ValueError(
            f"The radius must be more than 0 and at most {MAX_RADIUS_KM:g} km, not {radius_km!r}."
        )


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance in km between two points given in degrees (haversine).

    The haversine is well conditioned for small distances; near the antipodes it loses
    precision (to about 1e-8 relative, well under a metre), far beyond ``MAX_RADIUS_KM``. The
    asin argument is clamped to [0, 1] so that rounding cannot leave asin's domain."""
    phi1 = math.radians(lat1)
    phi2 = math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2.0
    half_dlambda = math.radians(lon2 - lon1) / 2.0
    a = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2.0 * EARTH_RADIUS_KM * math.asin(min(1.0, max(0.0, math.sqrt(a))))


@dataclass(frozen=True, slots=True)
class Box:
    """A latitude/longitude range in degrees, bounds included; never crosses the
    antimeridian (``min_longitude <= max_longitude``)."""

    min_latitude: float
    max_latitude: float
    min_longitude: float
    max_longitude: float

    def contains(self, latitude: float, longitude: float) -> bool:
        return (
            self.min_latitude <= latitude <= self.max_latitude
            and self.min_longitude <= longitude <= self.max_longitude
        )


def bounding_boxes(latitude: float, longitude: float, radius_km: float) -> list[Box]:
    """Boxes that together hold every point within ``radius_km`` of the centre: one box, or
    two when the longitude range crosses the antimeridian; one box of all longitudes when the
    circle reaches a pole.

    The longitude half-width is ``asin(sin(r/R) / cos(latitude))``, the exact extent of a
    spherical cap (reached at a latitude nearer the pole than the centre's, not at the
    centre's latitude)."""
    check_point(latitude, longitude)
    check_radius(radius_km)
    angular = radius_km / EARTH_RADIUS_KM
    angular_degrees = math.degrees(angular)
    min_latitude = latitude - angular_degrees - BOX_PADDING_DEGREES
    max_latitude = latitude + angular_degrees + BOX_PADDING_DEGREES
    if max_latitude >= 90.0 or min_latitude <= -90.0:
        return [Box(max(min_latitude, -90.0), min(max_latitude, 90.0), -180.0, 180.0)]

    cos_latitude = math.cos(math.radians(latitude))
    if cos_latitude < _POLE_EPSILON:
        return [Box(min_latitude, max_latitude, -180.0, 180.0)]
    ratio = math.sin(angular) / cos_latitude
    if ratio >= 1.0:
        return [Box(min_latitude, max_latitude, -180.0, 180.0)]
    half_width = math.degrees(math.asin(ratio)) + BOX_PADDING_DEGREES
    min_longitude = longitude - half_width
    max_longitude = longitude + half_width
    if min_longitude < -180.0:
        return [
            Box(min_latitude, max_latitude, min_longitude + 360.0, 180.0),
            Box(min_latitude, max_latitude, -180.0, max_longitude),
        ]
    if max_longitude > 180.0:
        return [
            Box(min_latitude, max_latitude, min_longitude, 180.0),
            Box(min_latitude, max_latitude, -180.0, max_longitude - 360.0),
        ]
    return [Box(min_latitude, max_latitude, min_longitude, max_longitude)]


def distance_sql(
    latitude_column: Any, longitude_column: Any, latitude: float, longitude: float
) -> Any:
    """An SQL expression for the great-circle distance in km from the point (degrees) to the
    row's point: the haversine, as ``great_circle_km``, for double precision columns in
    PostgreSQL. The centre's constants are computed here and bound as parameters."""
    phi1 = math.radians(latitude)
    phi2 = func.radians(latitude_column)
    half_dphi = (phi2 - _double(phi1)) * _double(0.5)
    half_dlambda = (func.radians(longitude_column) - _double(math.radians(longitude))) * _double(
        0.5
    )
    a = func.power(func.sin(half_dphi), _double(2.0)) + _double(math.cos(phi1)) * func.cos(
        phi2
    ) * func.power(func.sin(half_dlambda), _double(2.0))
    return _double(2.0 * EARTH_RADIUS_KM) * func.asin(func.least(_double(1.0), func.sqrt(a)))


def in_boxes_sql(latitude_column: Any, longitude_column: Any, boxes: list[Box]) -> Any:
    """An SQL condition: the row's point is in one of the boxes (bounds included); false for
    no boxes."""
    if not boxes:
        return false()
    return or_(
        *(
            and_(
                latitude_column.between(_double(box.min_latitude), _double(box.max_latitude)),
                longitude_column.between(_double(box.min_longitude), _double(box.max_longitude)),
            )
            for box in boxes
        )
    )


def _double(value: float) -> Any:
    """A bound parameter typed double precision, so PostgreSQL never guesses numeric."""
    return literal(value, Double())
