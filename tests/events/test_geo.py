"""Distances and bounding boxes on a spherical Earth, and their SQL expressions (compiled,
not run: these are pure tests)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Float, MetaData, Table
from sqlalchemy.dialects import postgresql

from w4r.events.geo import (
    EARTH_RADIUS_KM,
    MAX_RADIUS_KM,
    InvalidPoint,
    bounding_boxes,
    check_point,
    check_radius,
    distance_sql,
    great_circle_km,
    in_boxes_sql,
)

LONDON = (51.5074, -0.1278)
PARIS = (48.8566, 2.3522)

PLACES = Table(
    "places", MetaData(), Column("latitude", Float), Column("longitude", Float)
)  # double precision in PostgreSQL


def destination(
    latitude: float, longitude: float, bearing: float, distance_km: float
) -> tuple[float, float]:
    """The point ``distance_km`` from the start along the initial ``bearing`` (radians,
    clockwise from north): the spherical direct problem, in a numerically stable form (the
    start's north and east unit vectors, then atan2 rather than asin/acos)."""
    phi = math.radians(latitude)
    delta = distance_km / EARTH_RADIUS_KM
    # The destination in a frame where the start is at longitude 0.
    x = math.cos(delta) * math.cos(phi) - math.sin(delta) * math.cos(bearing) * math.sin(phi)
    y = math.sin(delta) * math.sin(bearing)
    z = math.cos(delta) * math.sin(phi) + math.sin(delta) * math.cos(bearing) * math.cos(phi)
    latitude2 = math.degrees(math.atan2(z, math.hypot(x, y)))
    longitude2 = math.remainder(longitude + math.degrees(math.atan2(y, x)), 360.0)
    return latitude2, longitude2


latitudes = st.one_of(
    st.floats(min_value=-90.0, max_value=90.0),
    st.sampled_from([89.9, -89.9, 90.0, -90.0, 0.0, 60.0]),
)
longitudes = st.one_of(
    st.floats(min_value=-180.0, max_value=180.0),
    st.sampled_from([179.9, -179.9, 180.0, -180.0, 0.0]),
)
radii = st.one_of(
    st.floats(min_value=0.0, max_value=MAX_RADIUS_KM, exclude_min=True),
    st.sampled_from([0.001, 1.0, 50.0, 500.0, MAX_RADIUS_KM]),
)
bearings = st.floats(min_value=0.0, max_value=2.0 * math.pi)
fractions = st.floats(min_value=0.0, max_value=1.0)


# --- great_circle_km -----------------------------------------------------------------------


def test_london_to_paris_is_about_343_and_a_half_km() -> None:
    # given/when the centres of London and Paris
    distance = great_circle_km(*LONDON, *PARIS)

    # then about 343.5 km, and the same either way
    assert distance == pytest.approx(343.5, abs=0.1)
    assert great_circle_km(*PARIS, *LONDON) == pytest.approx(distance, rel=1e-12)


def test_a_point_is_zero_km_from_itself() -> None:
    # given/when/then
    assert great_circle_km(*LONDON, *LONDON) == 0.0


@pytest.mark.parametrize(
    ("lat1", "lon1", "lat2", "lon2"),
    [(90.0, 0.0, -90.0, 0.0), (0.0, 0.0, 0.0, 180.0), (10.0, 20.0, -10.0, -160.0)],
)
def test_antipodes_are_half_a_circumference_apart(
    lat1: float, lon1: float, lat2: float, lon2: float
) -> None:
    # given/when/then pi * R, with the asin argument clamped (the haversine is least precise
    # here: about 1e-8 relative)
    assert great_circle_km(lat1, lon1, lat2, lon2) == pytest.approx(
        math.pi * EARTH_RADIUS_KM, rel=1e-6
    )


def test_longitudes_180_and_minus_180_are_the_same_meridian() -> None:
    # given/when/then
    assert great_circle_km(10.0, 180.0, 10.0, -180.0) == pytest.approx(0.0, abs=1e-9)


# --- check_point / check_radius ------------------------------------------------------------


@pytest.mark.parametrize(
    ("latitude", "longitude", "message"),
    [
        (math.nan, 0.0, "finite"),
        (0.0, math.nan, "finite"),
        (math.inf, 0.0, "finite"),
        (0.0, -math.inf, "finite"),
        (90.000001, 0.0, "Latitude must be between -90 and 90"),
        (-91.0, 0.0, "Latitude must be between -90 and 90"),
        (0.0, 180.000001, "Longitude must be between -180 and 180"),
        (0.0, -181.0, "Longitude must be between -180 and 180"),
    ],
)
def test_check_point_refuses_what_is_not_on_earth(
    latitude: float, longitude: float, message: str
) -> None:
    # given/when/then
    with pytest.raises(InvalidPoint, match=message):
        check_point(latitude, longitude)


def test_invalid_point_is_a_value_error() -> None:
    # given/when/then callers may catch ValueError
    assert issubclass(InvalidPoint, ValueError)


@pytest.mark.parametrize(("latitude", "longitude"), [(90.0, 180.0), (-90.0, -180.0), (0.0, 0.0)])
def test_check_point_accepts_the_bounds(latitude: float, longitude: float) -> None:
    # given/when/then no error
    check_point(latitude, longitude)


@pytest.mark.parametrize(
    "radius_km", [0.0, -1.0, -0.0, math.nan, math.inf, -math.inf, MAX_RADIUS_KM + 0.001]
)
def test_check_radius_refuses_what_is_not_a_search_radius(radius_km: float) -> None:
    # given/when/then
    with pytest.raises(ValueError, match="more than 0 and at most 2000 km"):
        check_radius(radius_km)


@pytest.mark.parametrize("radius_km", [1e-9, 0.5, MAX_RADIUS_KM])
def test_check_radius_accepts_up_to_the_maximum(radius_km: float) -> None:
    # given/when/then no error
    check_radius(radius_km)


def test_bounding_boxes_check_their_arguments() -> None:
    # given/when/then
    with pytest.raises(InvalidPoint):
        bounding_boxes(95.0, 0.0, 10.0)
    with pytest.raises(ValueError, match="radius"):
        bounding_boxes(0.0, 0.0, 0.0)


# --- bounding_boxes ------------------------------------------------------------------------


def test_a_circle_across_the_antimeridian_has_two_boxes() -> None:
    # given/when 200 km round (0, 179.5): about 1.8 degrees each way
    boxes = bounding_boxes(0.0, 179.5, 200.0)

    # then one box up to 180 and one from -180
    half_width = math.degrees(200.0 / EARTH_RADIUS_KM)
    assert len(boxes) == 2
    east, west = boxes
    assert east.min_longitude == pytest.approx(179.5 - half_width)
    assert east.max_longitude == 180.0
    assert west.min_longitude == -180.0
    assert west.max_longitude == pytest.approx(179.5 + half_width - 360.0)
    for box in boxes:
        assert box.min_latitude == pytest.approx(-half_width)
        assert box.max_latitude == pytest.approx(half_width)


def test_a_circle_across_the_antimeridian_from_the_west_has_two_boxes() -> None:
    # given/when the mirror image, round (0, -179.5)
    boxes = bounding_boxes(0.0, -179.5, 200.0)

    # then
    assert len(boxes) == 2
    assert {(box.min_longitude == -180.0, box.max_longitude == 180.0) for box in boxes} == {
        (True, False),
        (False, True),
    }


def test_a_circle_reaching_a_pole_spans_all_longitudes() -> None:
    # given/when 100 km round latitude 89.5 (the pole is about 56 km away)
    boxes = bounding_boxes(89.5, 10.0, 100.0)

    # then one box, every longitude, latitudes clamped at the pole
    (box,) = boxes
    assert box.min_latitude == pytest.approx(89.5 - math.degrees(100.0 / EARTH_RADIUS_KM))
    assert (box.max_latitude, box.min_longitude, box.max_longitude) == (90.0, -180.0, 180.0)


def test_a_circle_reaching_the_south_pole_spans_all_longitudes() -> None:
    # given/when/then
    (box,) = bounding_boxes(-89.9, -170.0, 50.0)
    assert (box.min_latitude, box.min_longitude, box.max_longitude) == (-90.0, -180.0, 180.0)


def test_an_ordinary_circle_has_one_tight_box() -> None:
    # given/when 50 km round London
    (box,) = bounding_boxes(*LONDON, 50.0)

    # then the latitude range is the angular radius each way; the longitude half-width is the
    # cap's (wider than the naive radius / cos(latitude), which misses points)
    angular = 50.0 / EARTH_RADIUS_KM
    latitude, longitude = LONDON
    assert box.min_latitude == pytest.approx(latitude - math.degrees(angular))
    assert box.max_latitude == pytest.approx(latitude + math.degrees(angular))
    half_width = math.degrees(math.asin(math.sin(angular) / math.cos(math.radians(latitude))))
    assert box.min_longitude == pytest.approx(longitude - half_width)
    assert box.max_longitude == pytest.approx(longitude + half_width)
    assert half_width > math.degrees(angular) / math.cos(math.radians(latitude))


@settings(max_examples=500)
@given(latitudes, longitudes, radii, bearings, fractions)
def test_every_point_within_the_radius_is_in_a_box(
    latitude: float, longitude: float, radius_km: float, bearing: float, fraction: float
) -> None:
    # given a point at most radius_km from the centre
    distance_km = fraction * radius_km
    point_latitude, point_longitude = destination(latitude, longitude, bearing, distance_km)

    # when
    boxes = bounding_boxes(latitude, longitude, radius_km)

    # then the point is in a box, and the haversine agrees with the distance it was made at
    # (relative 1e-6; absolute 1e-9 km = 1 micrometre for distances next to nothing)
    assert any(box.contains(point_latitude, point_longitude) for box in boxes), boxes
    assert great_circle_km(latitude, longitude, point_latitude, point_longitude) == (
        pytest.approx(distance_km, rel=1e-6, abs=1e-9)
    )


@given(latitudes, longitudes, radii)
def test_boxes_are_well_formed(latitude: float, longitude: float, radius_km: float) -> None:
    # given/when
    boxes = bounding_boxes(latitude, longitude, radius_km)

    # then one or two boxes inside the coordinate ranges, none crossing the antimeridian
    assert 1 <= len(boxes) <= 2
    for box in boxes:
        assert -90.0 <= box.min_latitude <= box.max_latitude <= 90.0
        assert -180.0 <= box.min_longitude <= box.max_longitude <= 180.0


# --- SQL -----------------------------------------------------------------------------------


def test_distance_sql_is_the_haversine_in_postgresql_functions() -> None:
    # given/when
    expression = distance_sql(PLACES.c.latitude, PLACES.c.longitude, *LONDON)
    compiled = expression.compile(dialect=postgresql.dialect())  # type: ignore[no-untyped-call]
    sql = str(compiled)

    # then the functions of the haversine, the columns, and the centre bound as parameters
    for function in ("radians(", "sin(", "cos(", "asin(", "sqrt(", "power(", "least("):
        assert function in sql
    assert "places.latitude" in sql
    assert "places.longitude" in sql
    parameters = list(compiled.params.values())
    assert math.radians(LONDON[0]) in parameters
    assert math.cos(math.radians(LONDON[0])) in parameters
    assert 2.0 * EARTH_RADIUS_KM in parameters


def test_in_boxes_sql_is_one_between_pair_per_box() -> None:
    # given two boxes across the antimeridian
    boxes = bounding_boxes(0.0, 179.5, 200.0)

    # when
    compiled = in_boxes_sql(PLACES.c.latitude, PLACES.c.longitude, boxes).compile(
        dialect=postgresql.dialect()  # type: ignore[no-untyped-call]
    )
    sql = str(compiled)

    # then
    assert sql.count("places.latitude BETWEEN") == 2
    assert sql.count("places.longitude BETWEEN") == 2
    assert " OR " in sql
    assert sorted(value for value in compiled.params.values() if value in (180.0, -180.0)) == [
        -180.0,
        180.0,
    ]


def test_in_boxes_sql_of_no_boxes_is_false() -> None:
    # given/when/then
    condition = in_boxes_sql(PLACES.c.latitude, PLACES.c.longitude, [])
    assert str(condition.compile(dialect=postgresql.dialect())) == "false"  # type: ignore[no-untyped-call]
